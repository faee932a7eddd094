with source as (
    {{ raw_source('raw_wecom', 'external_contacts') }}
),

renamed as (
    select
        external_userid as external_user_id,
        name as wechat_name,
        cast(type as {{ dbt.type_int() }}) as contact_type_code,
        case type
            when 1 then 'wechat'
            when 2 then 'wecom'
            else 'unknown'
        end as contact_type,
        case gender
            when 1 then 'male'
            when 2 then 'female'
            else 'unknown'
        end as gender,
        nullif(trim(unionid), '') as unionid,
        nullif(trim(position), '') as job_title,
        nullif(trim(corp_name), '') as corp_name,
        nullif(trim(corp_full_name), '') as corp_full_name,
        nullif(avatar, '') as avatar_url,
        {{ snapshot_bookkeeping_columns() }}
    from source
)

select * from renamed
