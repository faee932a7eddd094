with source as (
    {{ raw_source('raw_neocrm', 'payments') }}
),

renamed as (
    select
        cast(id as {{ dbt.type_bigint() }}) as payment_id,
        cast(opportunity_id as {{ dbt.type_bigint() }}) as opportunity_id,
        cast(account_id as {{ dbt.type_bigint() }}) as account_id,
        cast(amount as decimal(18, 2)) as amount,
        {{ epoch_ms_to_timestamp('payment_date') }} as paid_at,
        {{ epoch_ms_to_timestamp('created_at') }} as created_at
    from source
)

select * from renamed
