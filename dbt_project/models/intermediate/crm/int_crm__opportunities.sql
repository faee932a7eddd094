-- Every CRM opportunity (销售易 商机, Salesforce Opportunity) on one vocabulary: the current stage by
-- name, the amount in the currency the CRM recorded it in, the close reason, where the CRM says the
-- deal came from, and its type. Keyed by record name (`<crm>_opportunity:<id>`).
with neocrm_opportunities as (
    select * from {{ ref('stg_neocrm__opportunities') }}
),

neocrm_sale_stages as (
    select * from {{ ref('stg_neocrm__sale_stages') }}
),

salesforce_opportunities as (
    select * from {{ ref('stg_salesforce__opportunities') }}
    where not is_deleted
),

unioned as (
    select
        'neocrm' as crm,
        {{ record_node('neocrm_opportunity', 'neocrm_opportunities.opportunity_id') }} as opportunity_id,
        {{ dbt.cast('neocrm_opportunities.opportunity_id', dbt.type_string()) }} as crm_opportunity_id,
        neocrm_opportunities.opportunity_name,
        {{ record_node('neocrm_account', 'neocrm_opportunities.account_id') }} as account_record_id,
        {{ dbt.cast('neocrm_opportunities.account_id', dbt.type_string()) }} as crm_account_id,
        {{ dbt.cast('neocrm_opportunities.owner_user_id', dbt.type_string()) }} as owner_user_id,
        neocrm_sale_stages.sale_stage_name as stage_name,
        neocrm_opportunities.amount_cny as amount,
        '{{ var("neocrm_currency") }}' as currency_code,
        neocrm_opportunities.close_reason,
        neocrm_opportunities.opportunity_source,
        neocrm_opportunities.opportunity_type,
        neocrm_opportunities.created_at,
        neocrm_opportunities.updated_at
    from neocrm_opportunities
    left join neocrm_sale_stages
        on neocrm_opportunities.sale_stage_id = neocrm_sale_stages.sale_stage_id

    union all

    select
        'salesforce' as crm,
        {{ record_node('salesforce_opportunity', 'opportunity_id') }} as opportunity_id,
        opportunity_id as crm_opportunity_id,
        opportunity_name,
        {{ record_node('salesforce_account', 'account_id') }} as account_record_id,
        account_id as crm_account_id,
        owner_user_id,
        stage_name,
        amount,
        currency_code,
        loss_reason as close_reason,
        -- Salesforce copies the lead's source onto the deal at conversion; deals sales opened
        -- themselves carry their own (市场线索 / 销售自拓 / … in the demo org).
        lead_source as opportunity_source,
        opportunity_type,
        created_at,
        updated_at
    from salesforce_opportunities
)

select * from unioned
