-- Every CRM opportunity with the deal it is (matched_opportunity_id). With both CRMs configured the same deal can be in each:
-- an opportunity of a CRM later in var crm_precedence is the twin of one in an earlier CRM when a lead
-- of the same journey was converted into each, or — for deals without a lead — when both belong to
-- the same stitched company and opened within var crm_twin_window_hours of each other.
with opportunities as (
    select * from {{ ref('int_crm__opportunities') }}
),

leads as (
    select * from {{ ref('int_crm__leads') }}
),

journey_leads as (
    select * from {{ ref('int_journey_leads_matched') }}
),

account_ids as (
    select * from {{ ref('int_account_ids_assigned') }}
),

crm_precedence as (
    {% for crm in var('crm_precedence') %}
    select '{{ crm }}' as crm, {{ loop.index }} as crm_rank
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

opportunity_journeys as (
    -- The journey whose lead was converted into each opportunity (at most one: the smallest).
    select
        leads.converted_opportunity_id as opportunity_id,
        min(journey_leads.journey_id) as journey_id
    from leads
    inner join journey_leads
        on leads.lead_id = journey_leads.lead_id
    where leads.converted_opportunity_id is not null
    group by leads.converted_opportunity_id
),

deals as (
    select
        opportunities.opportunity_id,
        opportunities.crm,
        opportunities.created_at,
        account_ids.account_id,
        opportunity_journeys.journey_id,
        coalesce(crm_precedence.crm_rank, 999) as crm_rank
    from opportunities
    left join account_ids
        on opportunities.account_record_id = account_ids.identifier
    left join opportunity_journeys
        on opportunities.opportunity_id = opportunity_journeys.opportunity_id
    left join crm_precedence
        on opportunities.crm = crm_precedence.crm
),

twin_candidates as (
    select
        later.opportunity_id,
        earlier.opportunity_id as twin_of,
        row_number() over (
            partition by later.opportunity_id
            order by
                case when later.journey_id = earlier.journey_id then 0 else 1 end,
                abs({{ dbt.datediff('earlier.created_at', 'later.created_at', 'second') }}),
                earlier.crm_rank,
                earlier.opportunity_id
        ) as closeness
    from deals as later
    inner join deals as earlier
        on later.crm_rank > earlier.crm_rank
        and later.crm <> earlier.crm
        and (
            later.journey_id = earlier.journey_id
            or (
                later.journey_id is null
                and earlier.journey_id is null
                and later.account_id = earlier.account_id
                and earlier.created_at
                    between {{ dbt.dateadd('hour', -1 * var('crm_twin_window_hours'), 'later.created_at') }}
                    and {{ dbt.dateadd('hour', var('crm_twin_window_hours'), 'later.created_at') }}
            )
        )
),

final as (
    select
        deals.opportunity_id,
        deals.crm,
        coalesce(twins.twin_of, deals.opportunity_id) as matched_opportunity_id,
        deals.journey_id,
        twins.twin_of is not null as is_twin
    from deals
    left join twin_candidates as twins
        on deals.opportunity_id = twins.opportunity_id
        and twins.closeness = 1
)

select * from final
