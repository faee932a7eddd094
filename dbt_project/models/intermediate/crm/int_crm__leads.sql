-- Every lead of every CRM on one vocabulary (销售易 and Salesforce), one row per CRM lead, tagged
-- with its CRM. Keys are the identity graph's record names (`<crm>_lead:<id>`, unique across CRMs);
-- the CRM's own ids stay in crm_* columns. Salesforce leads deleted in the CRM are left out. Custom fields
-- of var crm_custom_fields pass on as custom_<name> (text; null for a CRM without the field).
{#- Columns both CRMs' staging name alike: each branch of the union passes them on as they are, in
    this order. #}
{%- set details = ['lead_name', 'job_title', 'company_name', 'province', 'industry', 'lead_source', 'lead_status'] %}
{%- set utm_and_times = ['utm_source', 'utm_medium', 'utm_campaign', 'utm_term', 'utm_content', 'created_at', 'updated_at'] %}

with neocrm_leads as (
    select * from {{ ref('stg_neocrm__leads') }}
),

salesforce_leads as (
    select * from {{ ref('stg_salesforce__leads') }}
    where not is_deleted
),

unioned as (
    select
        'neocrm' as crm,
        {{ record_node('neocrm_lead', 'lead_id') }} as lead_id,
        {{ dbt.cast('lead_id', dbt.type_string()) }} as crm_lead_id,
        {%- for column in details %}
        {{ column }},
        {%- endfor %}
        {{ dbt.cast('owner_user_id', dbt.type_string()) }} as owner_user_id,
        {{ record_node('neocrm_account', 'converted_account_id') }} as converted_account_record_id,
        {{ record_node('neocrm_contact', 'converted_contact_id') }} as converted_contact_id,
        {{ record_node('neocrm_opportunity', 'converted_opportunity_id') }} as converted_opportunity_id,
        cast(null as date) as converted_on,
        {{- crm_custom_field_passthrough('leads') }}
        {%- for column in utm_and_times %}
        {{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    from neocrm_leads

    union all

    select
        'salesforce' as crm,
        {{ record_node('salesforce_lead', 'lead_id') }} as lead_id,
        lead_id as crm_lead_id,
        {%- for column in details %}
        {{ column }},
        {%- endfor %}
        owner_user_id,
        {{ record_node('salesforce_account', 'converted_account_id') }} as converted_account_record_id,
        {{ record_node('salesforce_contact', 'converted_contact_id') }} as converted_contact_id,
        {{ record_node('salesforce_opportunity', 'converted_opportunity_id') }} as converted_opportunity_id,
        converted_on,
        {{- crm_custom_field_passthrough('leads') }}
        {%- for column in utm_and_times %}
        {{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    from salesforce_leads
)

select * from unioned
