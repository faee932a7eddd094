with source as (
    {{ raw_source('raw_neocrm', 'lead_status_history') }}
),

renamed as (
    select
        cast(id as {{ dbt.type_bigint() }}) as lead_status_change_id,
        cast(lead_id as {{ dbt.type_bigint() }}) as lead_id,
        old_value as old_status,
        new_value as new_status,
        {{ epoch_ms_to_timestamp('created_at') }} as changed_at
    from source
    where field_name = 'status'
)

select * from renamed
