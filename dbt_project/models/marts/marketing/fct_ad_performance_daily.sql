-- Every ad platform's daily numbers on one grain: platform × ad account × campaign × ad group × keyword ×
-- China day (derived night by night in int_ad_performance_days; here without its bookkeeping).
select
    platform,
    channel,
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
    reporting_currency,
    account_cost,
    account_currency,
    conversions
from {{ ref('int_ad_performance_days') }}
