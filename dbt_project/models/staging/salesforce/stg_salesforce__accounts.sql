with source as (
    {{ raw_source('raw_salesforce', 'accounts') }}
),

renamed as (
    select
        id as account_id,
        name as account_name,
        industry,
        billing_state as province,
        billing_city as city,
        cast(number_of_employees as integer) as employee_count,
        owner_id as owner_user_id,
        coalesce(is_deleted, false) as is_deleted,
        {{ utc_timestamp('created_date') }} as created_at,
        {{ utc_timestamp('last_modified_date') }} as updated_at,
        {{ utc_timestamp('system_modstamp') }} as system_modified_at
    from source
)

select * from renamed
