-- Every CRM opportunity exactly once: stage timing, POC facts, outcome, who sourced it and
-- whether marketing influenced it (architecture §3). sourced_by: the CRM lineage to a lead when there is
-- one, else marketing when someone at the company had a marketing touch within var
-- sourced_by_lookback_days before it opened, else the CRM's opportunity source (seed).
with opportunities_matched as (
    select * from {{ ref('int_opportunities_matched') }}
),

opportunities as (
    -- A deal in both CRMs is described by its record in the first CRM of var crm_precedence.
    select crm_opportunities.*
    from {{ ref('int_crm__opportunities') }} as crm_opportunities
    inner join opportunities_matched
        on crm_opportunities.opportunity_id = opportunities_matched.opportunity_id
    where not opportunities_matched.is_twin
),

stages as (
    select * from {{ ref('int_opportunity_stages_pivoted') }}
),

channels as (
    select * from {{ ref('int_lead_channels_mapped') }}
),

source_map as (
    select * from {{ ref('opportunity_source_map') }}
),

deal_type_map as (
    select * from {{ ref('deal_type_map') }}
),

source_leads as (
    -- The journey whose lead was converted into the deal (CRM lineage), in either CRM.
    select
        matched_opportunity_id as opportunity_id,
        min(journey_id) as source_lead_id
    from opportunities_matched
    where journey_id is not null
    group by matched_opportunity_id
),

company_ids as (
    select * from {{ ref('int_account_ids_assigned') }}
),

committees as (
    -- The contacts a CRM names on the deal (Salesforce OpportunityContactRole), over its twins.
    select
        opportunities_matched.matched_opportunity_id as opportunity_id,
        count(distinct contacts.contact_id) as buying_committee_size
    from {{ ref('int_crm__opportunity_contacts') }} as contacts
    inner join opportunities_matched
        on contacts.opportunity_id = opportunities_matched.opportunity_id
    group by opportunities_matched.matched_opportunity_id
),

marketing_touches as (
    select * from {{ ref('int_touchpoints_identified') }}
    where channel_group = 'marketing'
),

touch_evidence as (
    -- Marketing touches by anyone at the deal's company (the stitched account, so a lead whose
    -- phone differs from the contact on the deal still counts): in the look-back window before the
    -- deal opened, and at any time before it closed.
    select
        opportunities.opportunity_id,
        max(case
            when marketing_touches.touched_at < stages.opened_at
                and marketing_touches.touched_at
                    >= {{ dbt.dateadd('day', -1 * var('sourced_by_lookback_days'), 'stages.opened_at') }}
                then 1 else 0
        end) as has_touch_in_lookback,
        max(case
            when stages.won_at is null and stages.lost_at is null then 1
            when marketing_touches.touched_at < coalesce(stages.won_at, stages.lost_at) then 1
            else 0
        end) as has_touch_before_close
    from opportunities
    inner join stages
        on opportunities.opportunity_id = stages.opportunity_id
    inner join company_ids
        on opportunities.account_record_id = company_ids.identifier
    inner join marketing_touches
        on company_ids.account_id = marketing_touches.account_id
    group by opportunities.opportunity_id
),

joined as (
    select
        opportunities.opportunity_id,
        opportunities.crm,
        opportunities.crm_opportunity_id,
        company_ids.account_id,
        opportunities.crm_account_id,
        opportunities.owner_user_id,
        opportunities.opportunity_name,
        source_leads.source_lead_id,
        channels.channel as source_lead_channel,
        opportunities.opportunity_source,
        case
            when channels.channel_group = 'marketing' then 'marketing'
            when channels.channel_group = 'sales' then 'sales'
            when touch_evidence.has_touch_in_lookback = 1 then 'marketing'
            else coalesce(source_map.sourced_by, 'unknown')
        end as sourced_by,
        case
            when channels.channel_group in ('marketing', 'sales') then 'crm_lineage'
            when touch_evidence.has_touch_in_lookback = 1 then 'marketing_touch'
            else 'crm_source'
        end as sourced_by_evidence,
        coalesce(deal_type_map.deal_type, 'unknown') as deal_type,
        stages.opened_at,
        stages.poc_started_at,
        stages.poc_ended_at,
        stages.won_at,
        stages.lost_at,
        coalesce(stages.won_at, stages.lost_at) as closed_at,
        opportunities.reporting_amount,
        opportunities.amount as deal_amount,
        opportunities.currency_code as deal_currency,
        opportunities.fx_rate,
        opportunities.close_reason,
        coalesce(touch_evidence.has_touch_before_close, 0) = 1 as has_marketing_touch_before_close,
        committees.buying_committee_size
    from opportunities
    inner join stages
        on opportunities.opportunity_id = stages.opportunity_id
    left join company_ids
        on opportunities.account_record_id = company_ids.identifier
    left join source_leads
        on opportunities.opportunity_id = source_leads.opportunity_id
    left join channels
        on source_leads.source_lead_id = channels.lead_id
    left join source_map
        on opportunities.crm = source_map.source_system
        and opportunities.opportunity_source = source_map.opportunity_source
    left join deal_type_map
        on opportunities.crm = deal_type_map.source_system
        and opportunities.opportunity_type = deal_type_map.opportunity_type
    left join touch_evidence
        on opportunities.opportunity_id = touch_evidence.opportunity_id
    left join committees
        on opportunities.opportunity_id = committees.opportunity_id
),

final as (
    select
        opportunity_id,
        crm,
        crm_opportunity_id,
        account_id,
        crm_account_id,
        owner_user_id,
        opportunity_name,
        source_lead_id,
        source_lead_channel,
        opportunity_source,
        sourced_by,
        sourced_by_evidence,
        sourced_by = 'marketing' or has_marketing_touch_before_close as is_marketing_influenced,
        deal_type,
        cast(buying_committee_size as integer) as buying_committee_size,
        opened_at,
        poc_started_at,
        poc_ended_at,
        won_at,
        lost_at,
        closed_at,
        case
            when won_at is not null then 'won'
            when lost_at is not null then 'lost'
            else 'open'
        end as outcome,
        case
            when lost_at is null then null
            when poc_started_at is not null then 'poc'
            else 'opportunity'
        end as lost_at_stage,
        case when lost_at is not null then close_reason end as lost_reason,
        poc_started_at is not null or won_at is not null as has_reached_poc,
        reporting_amount as amount,
        case when won_at is not null then reporting_amount end as won_amount,
        {{ reporting_currency() }} as reporting_currency,
        deal_amount,
        deal_currency,
        fx_rate,
        {{ business_month('opened_at') }} as opened_month,
        {{ business_month('coalesce(won_at, lost_at)') }} as closed_month,
        cast({{ dbt.datediff('opened_at', 'coalesce(won_at, lost_at)', 'day') }} as integer) as days_to_close,
        cast({{ dbt.datediff('poc_started_at', 'poc_ended_at', 'day') }} as integer) as poc_days
    from joined
)

select * from final
