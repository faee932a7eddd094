-- One row per re-engaging touch (var hot_lead_reengaging_touch_types) of a known person of a known company:
-- what the company was at that moment. A purchase is a payment (int_crm__payments) or a deal won
-- (fct_opportunities.won_at): a deal won but not yet paid counts as bought on the day it was won, so it
-- keeps the company active and a CRM without payments (Salesforce) still has purchases. At the touch:
--   new      the company had never bought (whatever deals it has open);
--   active   it had bought within var dormant_account_after_months months before the touch (a purchase
--            exactly that many months before still counts), or a deal of it was open (opened at or before
--            the touch and not closed before it);
--   dormant  it had bought, but only longer ago, and no deal was open.
{%- set months = dormant_account_after_months() %}

with touches as (
    select * from {{ ref('fct_touchpoints') }}
    where touch_type in ({{ hot_lead_reengaging_touch_types() }})
        and account_id is not null
),

opportunities as (
    select * from {{ ref('fct_opportunities') }}
    where account_id is not null
),

payments as (
    select * from {{ ref('int_crm__payments') }}
),

account_ids as (
    select * from {{ ref('int_account_ids_assigned') }}
),

purchases as (
    select
        account_ids.account_id,
        payments.paid_at as purchased_at
    from payments
    inner join account_ids
        on payments.account_record_id = account_ids.identifier
    union all
    select
        account_id,
        won_at as purchased_at
    from opportunities
    where won_at is not null
),

last_purchases as (
    select
        touches.touchpoint_id,
        max(purchases.purchased_at) as last_purchase_at
    from touches
    inner join purchases
        on touches.account_id = purchases.account_id
        and purchases.purchased_at <= touches.touched_at
    group by touches.touchpoint_id
),

open_deals as (
    select
        touches.touchpoint_id,
        count(*) as open_opportunity_count
    from touches
    inner join opportunities
        on touches.account_id = opportunities.account_id
        and opportunities.opened_at <= touches.touched_at
        and (opportunities.closed_at is null or opportunities.closed_at >= touches.touched_at)
    group by touches.touchpoint_id
),

final as (
    select
        touches.touchpoint_id,
        touches.customer_id,
        touches.account_id,
        touches.touched_at,
        touches.touch_type,
        touches.channel,
        touches.content_id,
        last_purchases.last_purchase_at,
        cast(coalesce(open_deals.open_opportunity_count, 0) as integer) as open_opportunity_count,
        case
            when last_purchases.last_purchase_at is null then 'new'
            when open_deals.open_opportunity_count is not null then 'active'
            when last_purchases.last_purchase_at >= {{ dbt.dateadd('month', -1 * months, 'touches.touched_at') }}
                then 'active'
            else 'dormant'
        end as account_status
    from touches
    left join last_purchases
        on touches.touchpoint_id = last_purchases.touchpoint_id
    left join open_deals
        on touches.touchpoint_id = open_deals.touchpoint_id
)

select * from final
