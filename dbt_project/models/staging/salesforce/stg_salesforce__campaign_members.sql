with source as (
    {{ raw_source('raw_salesforce', 'campaign_members') }}
),

renamed as (
    select
        id as campaign_member_id,
        campaign_id,
        lead_id,
        contact_id,
        status as member_status,
        coalesce(has_responded, false) as has_responded,
        first_responded_date as first_responded_on,
        coalesce(is_deleted, false) as is_deleted,
        {{ utc_timestamp('created_date') }} as created_at,
        {{ utc_timestamp('last_modified_date') }} as updated_at,
        {{ utc_timestamp('system_modstamp') }} as system_modified_at
    from source
)

select * from renamed
