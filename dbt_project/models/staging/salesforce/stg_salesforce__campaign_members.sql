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
        {{ salesforce_system_columns() }}
    from source
)

select * from renamed
