-- Payments received against CRM deals (销售易 回款). Salesforce has no standard payment object: an
-- org on Salesforce alone has none, and dim_accounts shows no payments for it.
with neocrm_payments as (
    select * from {{ ref('stg_neocrm__payments') }}
),

exchange_rates as (
    select * from {{ ref('int_exchange_rates_ranged') }}
),

payments as (
    select
        'neocrm' as crm,
        {{ record_node('neocrm_payment', 'payment_id') }} as payment_id,
        {{ record_node('neocrm_opportunity', 'opportunity_id') }} as opportunity_id,
        {{ record_node('neocrm_account', 'account_id') }} as account_record_id,
        amount,
        '{{ var("neocrm_currency") }}' as currency_code,
        paid_at
    from neocrm_payments
),

final as (
    select
        payments.*,
        exchange_rates.rate as fx_rate,
        {{ converted_amount('payments.amount', 'exchange_rates.rate') }} as reporting_amount
    from payments
    left join exchange_rates
        on payments.currency_code = exchange_rates.currency_code
        and cast(payments.paid_at as date) >= exchange_rates.valid_from
        and cast(payments.paid_at as date) < exchange_rates.valid_to
)

select * from final
