with source as (
    {{ raw_source('raw_salesforce', 'contacts') }}
),

renamed as (
    select
        id as contact_id,
        account_id,
        name as contact_name,
        first_name,
        last_name,
        mobile_phone as mobile,
        phone,
        email,
        title as job_title,
        owner_id as owner_user_id,
        coalesce(is_deleted, false) as is_deleted,
        {{ utc_timestamp('created_date') }} as created_at,
        {{ utc_timestamp('last_modified_date') }} as updated_at,
        {{ utc_timestamp('system_modstamp') }} as system_modified_at
    from source
)

select * from renamed
