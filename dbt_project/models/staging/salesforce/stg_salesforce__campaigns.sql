with source as (
    {{ raw_source('raw_salesforce', 'campaigns') }}
),

renamed as (
    select
        id as campaign_id,
        name as campaign_name,
        type as campaign_type,
        status as campaign_status,
        start_date as started_on,
        end_date as ended_on,
        coalesce(is_active, false) as is_active,
        owner_id as owner_user_id,
        utm_source,
        utm_medium,
        coalesce(is_deleted, false) as is_deleted,
        {{ utc_timestamp('created_date') }} as created_at,
        {{ utc_timestamp('last_modified_date') }} as updated_at,
        {{ utc_timestamp('system_modstamp') }} as system_modified_at
    from source
)

select * from renamed
