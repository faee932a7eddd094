with source as (
    {{ raw_source('raw_salesforce', 'lead_history') }}
),

renamed as (
    select
        id as lead_status_change_id,
        lead_id,
        old_value as old_status,
        new_value as new_status,
        coalesce(is_deleted, false) as is_deleted,
        {{ utc_timestamp('created_date') }} as changed_at
    from source
    where field = 'Status'
)

select * from renamed
