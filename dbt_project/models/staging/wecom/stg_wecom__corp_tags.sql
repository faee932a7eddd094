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
        {{ snapshot_bookkeeping_columns() }}
    from source
)

select * from renamed
