-- Every CRM lead with the journey it belongs to. A journey is one lead's path from lead to close
-- (architecture §3); when both CRMs are configured (a company moving from one to the other, or running
-- both), the same journey can be in each. A lead of the same stitched person in another CRM, created
-- within var crm_twin_window_hours of a lead of a CRM earlier in var crm_precedence, is that lead's
-- twin: one journey, keyed by the earlier CRM's lead, with evidence from both.
with leads as (
    select * from {{ ref('int_crm__leads') }}
),

customer_ids as (
    select * from {{ ref('int_customer_ids_assigned') }}
),

crm_precedence as (
    {% for crm in var('crm_precedence') %}
    select '{{ crm }}' as crm, {{ loop.index }} as crm_rank
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

people as (
    select
        leads.lead_id,
        leads.crm,
        leads.created_at,
        customer_ids.customer_id,
        coalesce(crm_precedence.crm_rank, 999) as crm_rank
    from leads
    inner join customer_ids
        on leads.lead_id = customer_ids.identifier
    left join crm_precedence
        on leads.crm = crm_precedence.crm
),

twin_candidates as (
    select
        later.lead_id,
        earlier.lead_id as twin_of,
        row_number() over (
            partition by later.lead_id
            order by
                abs({{ dbt.datediff('earlier.created_at', 'later.created_at', 'second') }}),
                earlier.crm_rank,
                earlier.lead_id
        ) as closeness
    from people as later
    inner join people as earlier
        on later.customer_id = earlier.customer_id
        and later.crm_rank > earlier.crm_rank
        and later.crm <> earlier.crm
        and earlier.created_at
            between {{ dbt.dateadd('hour', -1 * var('crm_twin_window_hours'), 'later.created_at') }}
            and {{ dbt.dateadd('hour', var('crm_twin_window_hours'), 'later.created_at') }}
),

final as (
    select
        people.lead_id,
        people.crm,
        people.customer_id,
        coalesce(twins.twin_of, people.lead_id) as journey_id,
        twins.twin_of is not null as is_twin
    from people
    left join twin_candidates as twins
        on people.lead_id = twins.lead_id
        and twins.closeness = 1
)

select * from final
