with source as (
    {{ raw_source('raw_wecom', 'corp_tags') }}
),

renamed as (
    select
        tag_id,
        tag_name,
        cast(tag_order as {{ dbt.type_int() }}) as tag_order,
        {{ wecom_unix_seconds_to_timestamp('tag_create_time') }} as tag_created_at,
        group_id as tag_group_id,
        group_name as tag_group_name,
        cast(group_order as {{ dbt.type_int() }}) as tag_group_order,
        {{ wecom_unix_seconds_to_timestamp('group_create_time') }} as tag_group_created_at,
        is_deleted,
        {{ utc_timestamp('deleted_at') }} as deleted_at,
        {{ utc_timestamp('first_seen_at') }} as first_seen_at,
        {{ utc_timestamp('last_changed_at') }} as last_changed_at
    from source
)

select * from renamed
