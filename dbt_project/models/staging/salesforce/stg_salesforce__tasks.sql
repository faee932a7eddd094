with source as (
    {{ raw_source('raw_salesforce', 'tasks') }}
),

renamed as (
    select
        id as task_id,
        who_id,
        what_id,
        account_id,
        owner_id as owner_user_id,
        subject,
        task_subtype,
        type as task_type,
        status as task_status,
        coalesce(is_closed, false) as is_closed,
        activity_date as activity_on,
        {{ utc_timestamp('completed_date_time') }} as completed_at,
        call_type,
        cast(call_duration_in_seconds as integer) as call_duration_seconds,
        {{ salesforce_system_columns() }}
    from source
)

select * from renamed
