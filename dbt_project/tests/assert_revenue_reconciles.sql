-- Every month of mart_revenue_reconciliation: all won revenue = revenue of deals from leads + revenue
-- of deals without one, to the fen, and the deal counts likewise. A row returned is a month that does not.
select *
from {{ ref('mart_revenue_reconciliation') }}
where won_revenue <> lead_won_revenue + won_revenue_without_lead
    or won_deals <> lead_won_deals + won_deals_without_lead
