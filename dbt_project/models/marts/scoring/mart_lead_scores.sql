-- One row per journey and day: the lead's rules-based score as it stood that day (derived night by night in
-- int_lead_scores_daily; here without its bookkeeping).
select
    journey_id,
    customer_id,
    account_id,
    score_on,
    rule_set_version,
    province,
    region_weight,
    fit_score,
    behaviour_score,
    total_score,
    lead_grade,
    is_mql_by_score,
    top_reasons
from {{ ref('int_lead_scores_daily') }}
