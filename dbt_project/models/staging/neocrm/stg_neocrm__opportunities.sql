with source as (
    {{ raw_source('raw_neocrm', 'opportunities') }}
),

renamed as (
    select
        cast(id as {{ dbt.type_bigint() }}) as opportunity_id,
        opportunity_name,
        cast(account_id as {{ dbt.type_bigint() }}) as account_id,
        cast(owner_id as {{ dbt.type_bigint() }}) as owner_user_id,
        cast(money as decimal(18, 2)) as amount,
        cast(sale_stage_id as {{ dbt.type_bigint() }}) as sale_stage_id,
        cast(win_rate as integer) as win_rate_percent,
        cast({{ epoch_ms_to_timestamp('close_date') }} as date) as close_on,
        reason_desc as close_reason,
        trim(opportunity_source) as opportunity_source,
        opportunity_type,
        {{ epoch_ms_to_timestamp('created_at') }} as created_at,
        {{ epoch_ms_to_timestamp('updated_at') }} as updated_at
    from source
)

select * from renamed
