with source as (
    {{ raw_source('raw_salesforce', 'organization') }}
),

renamed as (
    select
        id as organization_id,
        name as organization_name,
        time_zone_sid_key as time_zone,
        default_currency_iso_code as corporate_currency,
        coalesce(is_sandbox, false) as is_sandbox
    from source
)

select * from renamed
