-- One row per ad-report day: the digest of everything int_ad_performance_days derives the day from (the
-- day's Baidu keyword and Ocean Engine promotion report rows, the exchange rates and the platform channel
-- seed). A day whose digest changed since it was derived (a restated report, a new rate) is derived again
-- (macros/incremental).
with baidu_days as (
    select
        stat_on,
        {{ rows_digest([
            'ad_account_id', 'campaign_id', 'campaign_name', 'ad_group_id', 'ad_group_name', 'keyword_id',
            'keyword', 'impressions', 'clicks', 'cost', 'conversions',
        ]) }} as reports_digest
    from {{ ref('stg_baidu_sem__keyword_daily_reports') }}
    group by stat_on
),

oceanengine_days as (
    select
        stat_on,
        {{ rows_digest([
            'advertiser_id', 'project_id', 'project_name', 'promotion_id', 'promotion_name', 'impressions',
            'clicks', 'cost', 'conversions',
        ]) }} as reports_digest
    from {{ ref('stg_oceanengine__promotion_daily_reports') }}
    group by stat_on
),

report_days as (
    select stat_on from baidu_days
    union
    select stat_on from oceanengine_days
),

rates as (
    select
        {{ dbt.concat([
            relation_digest(ref('int_exchange_rates_ranged')), "'/'",
            relation_digest(ref('channel_map_ad_platform')),
        ]) }} as rates_digest
),

final as (
    select
        report_days.stat_on,
        {{ dbt.concat([
            "coalesce(baidu_days.reports_digest, '-')", "'/'",
            "coalesce(oceanengine_days.reports_digest, '-')", "'/'",
            'rates.rates_digest',
        ]) }} as inputs_digest
    from report_days
    cross join rates
    left join baidu_days
        on report_days.stat_on = baidu_days.stat_on
    left join oceanengine_days
        on report_days.stat_on = oceanengine_days.stat_on
)

select * from final
