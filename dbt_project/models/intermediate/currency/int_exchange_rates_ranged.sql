-- The rate from each currency to the reporting currency (var reporting_currency), as day ranges:
-- [valid_from, valid_to), the earliest row of a currency open towards the past. The reporting
-- currency itself converts at 1. Join amounts on currency and day to convert them.
with rates as (
    select * from {{ ref('exchange_rates') }}
    where to_currency = '{{ var("reporting_currency") }}'
        and from_currency <> '{{ var("reporting_currency") }}'
),

ranged as (
    select
        from_currency as currency_code,
        case
            when row_number() over (partition by from_currency order by valid_from) = 1
                then cast('1900-01-01' as date)
            else valid_from
        end as valid_from,
        coalesce(
            lead(valid_from) over (partition by from_currency order by valid_from),
            cast('9999-12-31' as date)
        ) as valid_to,
        cast(rate as decimal(18, 6)) as rate
    from rates
),

reporting as (
    select
        '{{ var("reporting_currency") }}' as currency_code,
        cast('1900-01-01' as date) as valid_from,
        cast('9999-12-31' as date) as valid_to,
        cast(1 as decimal(18, 6)) as rate
),

final as (
    select * from ranged
    union all
    select * from reporting
)

select * from final
