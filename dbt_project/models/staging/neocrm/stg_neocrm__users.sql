with source as (
    {{ raw_source('raw_neocrm', 'users') }}
),

renamed as (
    select
        cast(id as {{ dbt.type_bigint() }}) as user_id,
        name as user_name,
        email as user_email,
        depart_name as department_name,
        position as job_position,
        {{ epoch_ms_to_timestamp('created_at') }} as created_at,
        {{ epoch_ms_to_timestamp('updated_at') }} as updated_at
    from source
)

select * from renamed
