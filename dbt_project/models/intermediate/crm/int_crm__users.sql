-- Every CRM user (销售易 and Salesforce) on one vocabulary: who owns an account or a deal, by name.
with neocrm_users as (
    select * from {{ ref('stg_neocrm__users') }}
),

salesforce_users as (
    select * from {{ ref('stg_salesforce__users') }}
),

unioned as (
    select
        'neocrm' as crm,
        {{ dbt.cast('user_id', dbt.type_string()) }} as user_id,
        user_name,
        department_name
    from neocrm_users

    union all

    select
        'salesforce' as crm,
        user_id,
        user_name,
        department_name
    from salesforce_users
)

select * from unioned
