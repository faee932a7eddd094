-- Every ad platform's daily numbers on one grain: platform × ad account × campaign × ad group ×
-- keyword × China day. Baidu reports keywords inside ad groups (推广单元) and campaigns (推广计划);
-- Ocean Engine reports promotions (广告, the ad group here) inside projects (项目, the campaign
-- here) and has no keyword. The channel comes from seed channel_map_ad_platform; cost is converted from
-- the ad accounts' currency (var ad_platform_currency) to the reporting currency at the day's rate.
-- Incremental per report day (macros/incremental): a night derives the days whose report rows, rates or
-- channel seed changed (int_ad_report_days_digested), and days it has no row of yet. Published as
-- fct_ad_performance_daily.
{%- set currency_vars = ['ad_platform_currency', 'reporting_currency'] %}
{{ partitioned_incremental('int_ad_report_days_digested', 'stat_on', currency_vars) }}

with digests as (
    select * from {{ ref('int_ad_report_days_digested') }}
),

baidu_keywords as (
    select reports.*
    from {{ ref('stg_baidu_sem__keyword_daily_reports') }} as reports
    {{ ad_days_not_derived('reports') }}
),

oceanengine_promotions as (
    select reports.*
    from {{ ref('stg_oceanengine__promotion_daily_reports') }} as reports
    {{ ad_days_not_derived('reports') }}
),

platform_channels as (
    select * from {{ ref('channel_map_ad_platform') }}
),

exchange_rates as (
    select * from {{ ref('int_exchange_rates_ranged') }}
),

unioned as (
    select
        'baidu_sem' as platform,
        ad_account_id,
        campaign_id,
        campaign_name,
        ad_group_id,
        ad_group_name,
        keyword_id,
        keyword,
        stat_on,
        impressions,
        clicks,
        cost,
        conversions
    from baidu_keywords

    union all

    select
        'oceanengine' as platform,
        advertiser_id as ad_account_id,
        project_id as campaign_id,
        project_name as campaign_name,
        promotion_id as ad_group_id,
        promotion_name as ad_group_name,
        cast(null as {{ dbt.type_bigint() }}) as keyword_id,
        cast(null as {{ dbt.type_string() }}) as keyword,
        stat_on,
        impressions,
        clicks,
        cost,
        conversions
    from oceanengine_promotions
),

performance as (
    select
        unioned.platform,
        coalesce(platform_channels.channel, 'unmapped') as channel,
        unioned.ad_account_id,
        unioned.campaign_id,
        unioned.campaign_name,
        unioned.ad_group_id,
        unioned.ad_group_name,
        unioned.keyword_id,
        unioned.keyword,
        unioned.stat_on,
        unioned.impressions,
        unioned.clicks,
        {{ converted_amount('unioned.cost', 'exchange_rates.rate') }} as cost,
        {{ reporting_currency() }} as reporting_currency,
        cast(unioned.cost as decimal(18, 2)) as account_cost,
        cast('{{ var("ad_platform_currency") }}' as {{ dbt.type_string() }}) as account_currency,
        unioned.conversions
    from unioned
    left join platform_channels
        on unioned.platform = platform_channels.platform
    left join exchange_rates
        on exchange_rates.currency_code = '{{ var("ad_platform_currency") }}'
        and unioned.stat_on >= exchange_rates.valid_from
        and unioned.stat_on < exchange_rates.valid_to
),

final as (
    select
        performance.*,
        {{ partition_bookkeeping('digests.inputs_digest', currency_vars) }}
    from performance
    left join digests
        on performance.stat_on = digests.stat_on
)

select * from final
