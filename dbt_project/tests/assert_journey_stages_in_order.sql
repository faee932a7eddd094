-- Stages are monotonic (architecture §3): no stage may be entered before the one before it.
select journey_id
from {{ ref('fct_lead_journeys') }}
where mql_at < lead_at
    or sql_at < mql_at
    or opportunity_at < sql_at
    or poc_at < opportunity_at
    or won_at < poc_at
