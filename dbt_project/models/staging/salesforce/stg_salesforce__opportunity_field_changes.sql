with source as (
    {{ raw_source('raw_salesforce', 'opportunity_field_history') }}
),

renamed as (
    select
        id as opportunity_field_change_id,
        opportunity_id,
        field as field_name,
        old_value,
        new_value,
        coalesce(is_deleted, false) as is_deleted,
        {{ utc_timestamp('created_date') }} as changed_at
    from source
)

select * from renamed
