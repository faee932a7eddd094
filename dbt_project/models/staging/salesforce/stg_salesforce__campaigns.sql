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
        {{ salesforce_system_columns() }}
    from source
)

select * from renamed
