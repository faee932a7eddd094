-- One row per stitched person (architecture §4, §5): the company they belong to, a masked name, hashed
-- contact points, when they were first and last seen, and where their latest journey stands and its lead
-- score (mart_lead_scores).
with customer_ids as (
    select * from {{ ref('int_customer_ids_assigned') }}
),

customer_accounts as (
    select * from {{ ref('int_customer_accounts_resolved') }}
),

screened as (
    select * from {{ ref('int_identifiers_screened') }}
    where exclusion_reason is null
),

journeys as (
    select * from {{ ref('fct_lead_journeys') }}
),

crm_contacts as (
    select * from {{ ref('int_crm__contacts') }}
),

crm_leads as (
    select * from {{ ref('int_crm__leads') }}
),

lead_scores as (
    select * from {{ ref('mart_lead_scores') }}
),

twin_leads as (
    -- A lead that is another CRM's copy of a journey (int_journey_leads_matched) is not a lead of its own.
    select lead_id from {{ ref('int_journey_leads_matched') }}
    where is_twin
),

person_sightings as (
    select
        customer_ids.customer_id,
        screened.record_id,
        screened.record_type,
        screened.identifier_type,
        screened.identifier,
        screened.first_seen_at,
        screened.last_seen_at
    from screened
    inner join customer_ids
        on screened.identifier = customer_ids.identifier
    where screened.graph = 'person'
),

records as (
    select distinct
        customer_id,
        record_id,
        record_type
    from person_sightings
),

seen as (
    select
        person_sightings.customer_id,
        min(person_sightings.first_seen_at) as first_seen_at,
        max(person_sightings.last_seen_at) as last_seen_at,
        count(distinct person_sightings.record_id) as record_count,
        count(distinct case
            when person_sightings.record_type in ('neocrm_lead', 'salesforce_lead') and twin_leads.lead_id is null
                then person_sightings.record_id
        end) as crm_lead_count
    from person_sightings
    left join twin_leads
        on person_sightings.record_id = twin_leads.lead_id
    group by person_sightings.customer_id
),

contact_points_ranked as (
    select
        customer_id,
        identifier_type,
        identifier,
        row_number() over (
            partition by customer_id, identifier_type
            order by last_seen_at desc, {{ dbt.hash('identifier') }}
        ) as recency
    from person_sightings
    where identifier_type in ('phone', 'email')
),

names as (
    -- The CRM's name and title for the person (either CRM): a contact's over a lead's, the latest first
    -- (records changed at the same moment: the greatest record id, so every build picks the same one).
    select
        records.customer_id,
        records.record_id,
        crm_contacts.contact_name as person_name,
        crm_contacts.job_title,
        1 as source_rank,
        crm_contacts.updated_at
    from records
    inner join crm_contacts
        on records.record_id = crm_contacts.contact_id
    union all
    select
        records.customer_id,
        records.record_id,
        crm_leads.lead_name as person_name,
        crm_leads.job_title,
        2 as source_rank,
        crm_leads.updated_at
    from records
    inner join crm_leads
        on records.record_id = crm_leads.lead_id
),

names_ranked as (
    select
        customer_id,
        person_name,
        job_title,
        row_number() over (
            partition by customer_id order by source_rank asc, updated_at desc, record_id desc
        ) as preference
    from names
    where person_name is not null
),

customer_journeys as (
    select
        records.customer_id,
        journeys.lead_at,
        journeys.journey_id,
        journeys.current_stage,
        row_number() over (partition by records.customer_id order by journeys.lead_at desc, journeys.lead_id desc) as recency
    from journeys
    inner join records
        on journeys.lead_id = records.record_id
),

latest_scores as (
    -- Each journey's score on the last day it was scored (its close, or the data's as-of day).
    select
        journey_id,
        total_score,
        lead_grade,
        score_on,
        row_number() over (partition by journey_id order by score_on desc) as recency
    from lead_scores
),

journey_summary as (
    select
        customer_id,
        count(*) as journey_count,
        min(lead_at) as first_lead_at
    from customer_journeys
    group by customer_id
),

final as (
    select
        seen.customer_id,
        customer_accounts.account_id,
        {{ dbt.concat(["substr(names_ranked.person_name, 1, 1)", "'*'"]) }} as masked_name,
        names_ranked.job_title,
        {{ pii_hash('phones.identifier') }} as phone_hash,
        {{ pii_hash('emails.identifier') }} as email_hash,
        seen.first_seen_at,
        seen.last_seen_at,
        cast(seen.record_count as integer) as record_count,
        cast(seen.crm_lead_count as integer) as crm_lead_count,
        cast(coalesce(journey_summary.journey_count, 0) as integer) as journey_count,
        journey_summary.first_lead_at,
        latest_journey.current_stage,
        latest_score.total_score as lead_score,
        latest_score.lead_grade,
        latest_score.score_on as lead_scored_on
    from seen
    left join customer_accounts
        on seen.customer_id = customer_accounts.customer_id
    left join names_ranked
        on seen.customer_id = names_ranked.customer_id
        and names_ranked.preference = 1
    left join contact_points_ranked as phones
        on seen.customer_id = phones.customer_id
        and phones.identifier_type = 'phone'
        and phones.recency = 1
    left join contact_points_ranked as emails
        on seen.customer_id = emails.customer_id
        and emails.identifier_type = 'email'
        and emails.recency = 1
    left join journey_summary
        on seen.customer_id = journey_summary.customer_id
    left join customer_journeys as latest_journey
        on seen.customer_id = latest_journey.customer_id
        and latest_journey.recency = 1
    left join latest_scores as latest_score
        on latest_journey.journey_id = latest_score.journey_id
        and latest_score.recency = 1
)

select * from final
