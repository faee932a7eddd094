-- Payments received against CRM deals (销售易 回款). Salesforce has no standard payment object: an
-- org on Salesforce alone has none, and dim_accounts shows no payments for it.
with neocrm_payments as (
    select * from {{ ref('stg_neocrm__payments') }}
),

final as (
    select
        'neocrm' as crm,
        {{ record_node('neocrm_payment', 'payment_id') }} as payment_id,
        {{ record_node('neocrm_opportunity', 'opportunity_id') }} as opportunity_id,
        {{ record_node('neocrm_account', 'account_id') }} as account_record_id,
        amount_cny as amount,
        '{{ var("neocrm_currency") }}' as currency_code,
        paid_at
    from neocrm_payments
)

select * from final
