with source as (
    {{ raw_source('raw_salesforce', 'events') }}
),

renamed as (
    select
        id as event_id,
        who_id,
        what_id,
        account_id,
        owner_id as owner_user_id,
        subject,
        event_subtype,
        type as event_type,
        location,
        coalesce(is_all_day_event, false) as is_all_day_event,
        activity_date as activity_on,
        {{ utc_timestamp('activity_date_time') }} as activity_at,
        {{ utc_timestamp('start_date_time') }} as started_at,
        {{ utc_timestamp('end_date_time') }} as ended_at,
        cast(duration_in_minutes as integer) as duration_minutes,
        {{ salesforce_system_columns() }}
    from source
)

select * from renamed
