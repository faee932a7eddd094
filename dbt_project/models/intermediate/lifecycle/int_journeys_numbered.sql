-- Every journey (a CRM lead) with its stitched person, its number among that person's journeys, and
-- when the person's previous journey began: the window in which touches belong to this journey.
with leads as (
    select * from {{ ref('stg_neocrm__leads') }}
),

customer_ids as (
    select * from {{ ref('int_customer_ids_assigned') }}
),

journeys as (
    select
        leads.lead_id as journey_id,
        leads.created_at as lead_at,
        customer_ids.customer_id
    from leads
    inner join customer_ids
        on customer_ids.identifier = {{ record_node('neocrm_lead', 'leads.lead_id') }}
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
