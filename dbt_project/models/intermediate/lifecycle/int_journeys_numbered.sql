-- Every journey with its stitched person, its number among that person's journeys, and when the
-- person's previous journey began: the window in which touches belong to this journey. A journey
-- begins when the first of its CRM leads (int_journey_leads_matched) was created.
with journey_leads as (
    select * from {{ ref('int_journey_leads_matched') }}
),

leads as (
    select * from {{ ref('int_crm__leads') }}
),

journeys as (
    select
        journey_leads.journey_id,
        min(leads.created_at) as lead_at,
        min(journey_leads.customer_id) as customer_id
    from journey_leads
    inner join leads
        on journey_leads.lead_id = leads.lead_id
    group by journey_leads.journey_id
),

final as (
    select
        journey_id,
        lead_at,
        customer_id,
        cast(row_number() over (partition by customer_id order by lead_at, journey_id) as integer) as journey_number,
        lag(lead_at) over (partition by customer_id order by lead_at, journey_id) as previous_lead_at
    from journeys
)

select * from final
