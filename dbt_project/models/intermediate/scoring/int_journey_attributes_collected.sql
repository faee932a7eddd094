-- What the fit rules of lead scoring (seed scoring_fit_rules) look at, one row per journey, attribute and
-- value, from the CRM as it stands (a CRM keeps no history of these fields, so every day of a journey sees
-- today's values): industry, province (the region) and employee_count of the journey's company — the CRM
-- account its lead was converted to, else the oldest CRM account of its stitched company — falling back to
-- the lead's own industry and province; job_title of the contact the lead was converted to, else the lead's;
-- every company name (the lead's, its account's); and the domain of every e-mail address the lead or its
-- contact carries (the address itself never leaves the identity layer). Every custom CRM field of var
-- crm_custom_fields (int_crm__custom_field_values) that the journey's lead, contact or account carries is
-- attribute custom.<name> (e.g. custom.budget_range), with the values of all three, like company_name; so a
-- field a team maps reaches fit rules and the fitted scorer's features with no change here. Values are
-- lower-cased and trimmed.
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
        leads.converted_contact_id as contact_id,
        coalesce(leads.converted_account_record_id, company_accounts.account_record_id) as account_record_id
    from journeys
    inner join leads
        on journeys.journey_id = leads.lead_id
    left join company_accounts
        on journeys.account_id = company_accounts.account_id
        and company_accounts.seniority = 1
),

described as (
    select
        journey_records.journey_id,
        coalesce(crm_accounts.industry, leads.industry) as industry,
        coalesce(crm_accounts.province, leads.province) as province,
        {{ dbt.cast('crm_accounts.employee_count', dbt.type_string()) }} as employee_count,
        coalesce(contacts.job_title, leads.job_title) as job_title,
        leads.company_name as lead_company_name,
        crm_accounts.account_name
    from journey_records
    inner join leads
        on journey_records.lead_id = leads.lead_id
    left join contacts
        on journey_records.contact_id = contacts.contact_id
    left join crm_accounts
        on journey_records.account_record_id = crm_accounts.account_record_id
),

email_domains as (
    select distinct
        journey_records.journey_id,
        {{ dbt.split_part('observations.identifier', "'@'", 2) }} as email_domain
    from journey_records
    inner join observations
        on journey_records.lead_id = observations.record_id
        or journey_records.contact_id = observations.record_id
),

custom_attributes as (
    -- Record names are unique across CRMs and objects: three equality joins, no object test needed.
    select
        journey_records.journey_id,
        custom_values.field_name,
        custom_values.field_value
    from journey_records
    inner join custom_values
        on journey_records.lead_id = custom_values.record_id
    union all
    select
        journey_records.journey_id,
        custom_values.field_name,
        custom_values.field_value
    from journey_records
    inner join custom_values
        on journey_records.contact_id = custom_values.record_id
    union all
    select
        journey_records.journey_id,
        custom_values.field_name,
        custom_values.field_value
    from journey_records
    inner join custom_values
        on journey_records.account_record_id = custom_values.record_id
),

attributes as (
    select
        journey_id,
        'industry' as attribute_name,
        industry as attribute_value
    from described
    union all
    select
        journey_id,
        'province' as attribute_name,
        province as attribute_value
    from described
    union all
    select
        journey_id,
        'employee_count' as attribute_name,
        employee_count as attribute_value
    from described
    union all
    select
        journey_id,
        'job_title' as attribute_name,
        job_title as attribute_value
    from described
    union all
    select
        journey_id,
        'company_name' as attribute_name,
        lead_company_name as attribute_value
    from described
    union all
    select
        journey_id,
        'company_name' as attribute_name,
        account_name as attribute_value
    from described
    union all
    select
        journey_id,
        'email_domain' as attribute_name,
        email_domain as attribute_value
    from email_domains
    union all
    select
        journey_id,
        {{ dbt.concat(["'custom.'", 'field_name']) }} as attribute_name,
        field_value as attribute_value
    from custom_attributes
),

final as (
    select distinct
        journey_id,
        cast(attribute_name as {{ dbt.type_string() }}) as attribute_name,
        lower(trim(attribute_value)) as attribute_value
    from attributes
    where attribute_value is not null and trim(attribute_value) <> ''
)

select * from final
