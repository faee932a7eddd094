-- Every CRM account (销售易 客户, Salesforce Account) on one vocabulary, keyed by its record name
-- (`<crm>_account:<id>`), which the account graph stitches into companies.
with neocrm_accounts as (
    select * from {{ ref('stg_neocrm__accounts') }}
),

salesforce_accounts as (
    select * from {{ ref('stg_salesforce__accounts') }}
    where not is_deleted
),

unioned as (
    select
        'neocrm' as crm,
        {{ record_node('neocrm_account', 'account_id') }} as account_record_id,
        {{ dbt.cast('account_id', dbt.type_string()) }} as crm_account_id,
        account_name,
        industry,
        province,
        city,
        employee_count,
        {{ dbt.cast('owner_user_id', dbt.type_string()) }} as owner_user_id,
        unified_social_credit_code,
        {{- crm_custom_field_passthrough('accounts') }}
        created_at,
        updated_at
    from neocrm_accounts

    union all

    select
        'salesforce' as crm,
        {{ record_node('salesforce_account', 'account_id') }} as account_record_id,
        account_id as crm_account_id,
        account_name,
        industry,
        province,
        city,
        employee_count,
        owner_user_id,
        cast(null as {{ dbt.type_string() }}) as unified_social_credit_code,
        {{- crm_custom_field_passthrough('accounts') }}
        created_at,
        updated_at
    from salesforce_accounts
)

select * from unioned
