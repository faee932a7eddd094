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
        {{ utc_timestamp('created_date') }} as created_at,
        {{ utc_timestamp('last_modified_date') }} as updated_at,
        {{ utc_timestamp('system_modstamp') }} as system_modified_at
    from source
)

select * from renamed
