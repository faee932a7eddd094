with source as (
    {{ raw_source('raw_wecom', 'follow_relations') }}
),

renamed as (
    select
        {{ dbt.concat(['external_userid', "'/'", 'userid']) }} as follow_relation_id,
        external_userid as external_user_id,
        userid as staff_user_id,
        nullif(trim(remark), '') as remark,
        nullif(trim(description), '') as description,
        {{ wecom_unix_seconds_to_timestamp('createtime') }} as added_at,
        cast(add_way as {{ dbt.type_int() }}) as add_way_code,
        case add_way
            when 0 then 'unknown'
            when 1 then 'qr_code'
            when 2 then 'phone_search'
            when 3 then 'business_card'
            when 4 then 'group_chat'
            when 5 then 'phone_contacts'
            when 6 then 'wechat_contact'
            when 7 then 'wechat_friend_request'
            when 8 then 'third_party_app'
            when 9 then 'email_search'
            when 201 then 'shared_internally'
            when 202 then 'assigned_by_admin'
            else 'other'
        end as add_way,
        nullif(trim(state), '') as channel_state,
        oper_userid as added_by_user_id,
        tag_ids as tag_ids_json,
        nullif(trim(remark_corp_name), '') as remark_corp_name,
        nullif(trim(remark_mobile), '') as remark_mobile,
        remark_mobiles as remark_mobiles_json,
        {{ snapshot_bookkeeping_columns() }}
    from source
)

select * from renamed
