-- What the fitted lead scorers may know of a journey on a day: one row per journey, attribute and value, with
-- the business day from which it was known. int_journey_attributes_collected gives the rules today's values
-- (a CRM keeps no history of them); a model that learnt from those would see the future, because a lead's
-- contact and account usually appear when it converts — on the demo, every journey with an employee_count
-- (an account field) reached SQL and none without one did. So here each value is dated by the record that
-- carries it: the lead's own fields and e-mail domain from its lead day; the contact and account it was
-- converted to from its SQL day (never before it); its stitched company's oldest CRM account, converted or
-- not, from the later of that account's creation and the lead day. Custom CRM fields (custom.<name>) are
-- dated by the record carrying them the same way. Values are lower-cased and trimmed, as in
-- int_journey_attributes_collected. An attribute added there becomes a feature once it is
-- added here with the day it is known from.
with journeys as (
    select * from {{ ref('fct_lead_journeys') }}
),

leads as (
    select * from {{ ref('int_crm__leads') }}
),

contacts as (
    select * from {{ ref('int_crm__contacts') }}
),

crm_accounts as (
    select * from {{ ref('int_crm__accounts') }}
),

custom_values as (
    select * from {{ ref('int_crm__custom_field_values') }}
),

observations as (
    select * from {{ ref('stg_identity__identifier_observations') }}
    where identifier_type = 'email' and identifier is not null
),

company_accounts as (
    -- Each stitched company's CRM accounts, oldest first (seniority 1 describes the company, as in dim_accounts).
    select * from {{ ref('int_company_crm_accounts_ranked') }}
),

journey_records as (
    select
        journeys.journey_id,
        leads.lead_id,
        {{ business_day('journeys.lead_at') }} as lead_on,
        {{ business_day('journeys.sql_at') }} as converted_on,
        leads.converted_contact_id as contact_id,
        leads.converted_account_record_id,
        company_accounts.account_record_id as company_account_record_id,
        {{ business_day('company_accounts.created_at') }} as company_account_created_on
    from journeys
    inner join leads
        on journeys.journey_id = leads.lead_id
    left join company_accounts
        on journeys.account_id = company_accounts.account_id
        and company_accounts.seniority = 1
    where journeys.lead_at is not null
),

linked_accounts as (
    -- The accounts a journey's firmographics come from once known: its converted account from the SQL day,
    -- and its company's oldest account from when both it and the lead existed.
    select
        journey_id,
        converted_account_record_id as account_record_id,
        converted_on as known_from_on
    from journey_records
    where converted_account_record_id is not null and converted_on is not null
    union all
    select
        journey_id,
        company_account_record_id as account_record_id,
        case
            when company_account_created_on > lead_on then company_account_created_on
            else lead_on
        end as known_from_on
    from journey_records
    -- Whether or not the lead converts (which only the future tells), so that an account's presence never
    -- hints at the outcome.
    where company_account_record_id is not null
),

attributes as (
    select journey_records.journey_id, 'industry' as attribute_name, leads.industry as attribute_value,
        journey_records.lead_on as known_from_on
    from journey_records
    inner join leads on journey_records.lead_id = leads.lead_id
    union all
    select journey_records.journey_id, 'province' as attribute_name, leads.province as attribute_value,
        journey_records.lead_on as known_from_on
    from journey_records
    inner join leads on journey_records.lead_id = leads.lead_id
    union all
    select journey_records.journey_id, 'job_title' as attribute_name, leads.job_title as attribute_value,
        journey_records.lead_on as known_from_on
    from journey_records
    inner join leads on journey_records.lead_id = leads.lead_id
    union all
    select journey_records.journey_id, 'company_name' as attribute_name, leads.company_name as attribute_value,
        journey_records.lead_on as known_from_on
    from journey_records
    inner join leads on journey_records.lead_id = leads.lead_id
    union all
    select journey_records.journey_id, 'job_title' as attribute_name, contacts.job_title as attribute_value,
        journey_records.converted_on as known_from_on
    from journey_records
    inner join contacts on journey_records.contact_id = contacts.contact_id
    where journey_records.converted_on is not null
    union all
    select linked_accounts.journey_id, 'industry' as attribute_name, crm_accounts.industry as attribute_value,
        linked_accounts.known_from_on
    from linked_accounts
    inner join crm_accounts on linked_accounts.account_record_id = crm_accounts.account_record_id
    union all
    select linked_accounts.journey_id, 'province' as attribute_name, crm_accounts.province as attribute_value,
        linked_accounts.known_from_on
    from linked_accounts
    inner join crm_accounts on linked_accounts.account_record_id = crm_accounts.account_record_id
    union all
    select linked_accounts.journey_id, 'employee_count' as attribute_name,
        {{ dbt.cast('crm_accounts.employee_count', dbt.type_string()) }} as attribute_value,
        linked_accounts.known_from_on
    from linked_accounts
    inner join crm_accounts on linked_accounts.account_record_id = crm_accounts.account_record_id
    union all
    select linked_accounts.journey_id, 'company_name' as attribute_name, crm_accounts.account_name as attribute_value,
        linked_accounts.known_from_on
    from linked_accounts
    inner join crm_accounts on linked_accounts.account_record_id = crm_accounts.account_record_id
    union all
    -- Custom CRM fields (var crm_custom_fields) as custom.<name>, dated by the record that carries them.
    select journey_records.journey_id, {{ dbt.concat(["'custom.'", 'custom_values.field_name']) }} as attribute_name,
        custom_values.field_value as attribute_value, journey_records.lead_on as known_from_on
    from journey_records
    inner join custom_values on journey_records.lead_id = custom_values.record_id
    union all
    select journey_records.journey_id, {{ dbt.concat(["'custom.'", 'custom_values.field_name']) }} as attribute_name,
        custom_values.field_value as attribute_value, journey_records.converted_on as known_from_on
    from journey_records
    inner join custom_values on journey_records.contact_id = custom_values.record_id
    where journey_records.converted_on is not null
    union all
    select linked_accounts.journey_id, {{ dbt.concat(["'custom.'", 'custom_values.field_name']) }} as attribute_name,
        custom_values.field_value as attribute_value, linked_accounts.known_from_on
    from linked_accounts
    inner join custom_values on linked_accounts.account_record_id = custom_values.record_id
    union all
    select journey_records.journey_id, 'email_domain' as attribute_name,
        {{ dbt.split_part('observations.identifier', "'@'", 2) }} as attribute_value,
        case when observations.record_id = journey_records.lead_id then journey_records.lead_on
            else journey_records.converted_on end as known_from_on
    from journey_records
    inner join observations
        on journey_records.lead_id = observations.record_id
        or (journey_records.contact_id = observations.record_id and journey_records.converted_on is not null)
),

final as (
    select
        journey_id,
        cast(attribute_name as {{ dbt.type_string() }}) as attribute_name,
        lower(trim(attribute_value)) as attribute_value,
        min(known_from_on) as known_from_on
    from attributes
    where attribute_value is not null and trim(attribute_value) <> '' and known_from_on is not null
    group by journey_id, attribute_name, lower(trim(attribute_value))
)

select * from final
