with source as (
    {{ raw_source('raw_baidu_sem', 'keyword_daily_report') }}
),

renamed as (
    select
        cast({{ adapter.quote('date') }} as date) as stat_on,
        cast(user_id as {{ dbt.type_bigint() }}) as ad_account_id,
        trim(user_name) as ad_account_name,
        cast(campaign_id as {{ dbt.type_bigint() }}) as campaign_id,
        trim(campaign_name) as campaign_name,
        cast(ad_group_id as {{ dbt.type_bigint() }}) as ad_group_id,
        trim(ad_group_name) as ad_group_name,
        cast(keyword_id as {{ dbt.type_bigint() }}) as keyword_id,
        trim(keyword) as keyword,
        cast(impression as {{ dbt.type_bigint() }}) as impressions,
        cast(click as {{ dbt.type_bigint() }}) as clicks,
        cast(cost as decimal(18, 2)) as cost,
        cast(conversion as {{ dbt.type_bigint() }}) as conversions,
        _source as loaded_via
    from source
)

select * from renamed
