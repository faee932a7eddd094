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

salesforce_organization as (
    -- A single-currency org records every amount in its corporate currency.
    select max(corporate_currency) as corporate_currency from {{ ref('stg_salesforce__organization') }}
),

exchange_rates as (
    select * from {{ ref('int_exchange_rates_ranged') }}
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
        neocrm_opportunities.amount,
        '{{ var("neocrm_currency") }}' as currency_code,
        neocrm_opportunities.close_on,
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
        coalesce(
            currency_code, salesforce_organization.corporate_currency, '{{ var("salesforce_currency") }}'
        ) as currency_code,
        close_on,
        loss_reason as close_reason,
        -- Salesforce copies the lead's source onto the deal at conversion; deals sales opened
        -- themselves carry their own (市场线索 / 销售自拓 / … in the demo org).
        lead_source as opportunity_source,
        opportunity_type,
        created_at,
        updated_at
    from salesforce_opportunities
    cross join salesforce_organization
),

final as (
    -- Amounts in the reporting currency at the rate of the close date (the expected close date of
    -- an open deal), as Salesforce's dated exchange rates convert opportunities.
    select
        unioned.*,
        exchange_rates.rate as fx_rate,
        {{ converted_amount('unioned.amount', 'exchange_rates.rate') }} as reporting_amount
    from unioned
    left join exchange_rates
        on unioned.currency_code = exchange_rates.currency_code
        and coalesce(unioned.close_on, cast(unioned.created_at as date)) >= exchange_rates.valid_from
        and coalesce(unioned.close_on, cast(unioned.created_at as date)) < exchange_rates.valid_to
)

select * from final
