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
        {{ salesforce_system_columns(deletable=false) }}
    from source
)

select * from renamed
