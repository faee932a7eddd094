with source as (
    {{ raw_source('raw_oceanengine', 'promotion_daily_report') }}
),

renamed as (
    select
        cast(stat_time_day as date) as stat_on,
        cast(advertiser_id as {{ dbt.type_bigint() }}) as advertiser_id,
        cast(cdp_project_id as {{ dbt.type_bigint() }}) as project_id,
        trim(cdp_project_name) as project_name,
        cast(cdp_promotion_id as {{ dbt.type_bigint() }}) as promotion_id,
        trim(cdp_promotion_name) as promotion_name,
        cast(stat_cost as decimal(18, 2)) as cost,
        cast(show_cnt as {{ dbt.type_bigint() }}) as impressions,
        cast(click_cnt as {{ dbt.type_bigint() }}) as clicks,
        cast(convert_cnt as {{ dbt.type_bigint() }}) as conversions,
        _source as loaded_via
    from source
)

select * from renamed
