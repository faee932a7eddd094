with source as (
    {{ raw_source('raw_salesforce', 'users') }}
),

renamed as (
    select
        id as user_id,
        name as user_name,
        username,
        email as user_email,
        department as department_name,
        title as job_position,
        is_active,
        {{ salesforce_utc('created_date') }} as created_at,
        {{ salesforce_utc('last_modified_date') }} as updated_at,
        {{ salesforce_utc('system_modstamp') }} as system_modified_at
    from source
)

select * from renamed
