with source as (
    {{ raw_source('raw_sensors', 'events') }}
),

renamed as (
    select
        event_key,
        event as event_name,
        {{ sensors_local_to_utc(adapter.quote('time')) }} as event_at,
        cast({{ adapter.quote('date') }} as date) as event_on,
        distinct_id,
        cast(user_id as {{ dbt.type_bigint() }}) as sensors_user_id,
        coalesce(is_login_id, false) as is_login_id,
        case when is_login_id then distinct_id end as login_id,
        case
            when event = '$SignUp' then original_id
            when not coalesce(is_login_id, false) then distinct_id
        end as anonymous_id,
        url as page_url,
        url_path as page_path,
        nullif(referrer, '') as referrer_url,
        page_title,
        utm_source,
        utm_medium,
        utm_campaign,
        utm_content,
        utm_term,
        event_duration as duration_seconds,
        form_id,
        form_type,
        nullif(trim(phone), '') as phone,
        nullif(lower(trim(email)), '') as email,
        nullif(trim(name), '') as contact_name,
        nullif(trim(company), '') as company_name,
        nullif(trim(title), '') as job_title,
        material_id,
        material_title,
        read_duration as read_duration_seconds,
        external_userid as wecom_external_userid,
        webinar_id,
        properties_json
    from source
)

select * from renamed
