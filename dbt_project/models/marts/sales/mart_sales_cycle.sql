-- How long deals take, by the business month they closed, outcome and who sourced them.
with opportunities as (
    select * from {{ ref('fct_opportunities') }}
    where closed_at is not null
),

final as (
    select
        closed_month,
        outcome,
        sourced_by,
        count(*) as deals,
        cast({{ median('days_to_close') }} as decimal(10, 1)) as median_days_to_close,
        min(days_to_close) as min_days_to_close,
        max(days_to_close) as max_days_to_close
    from opportunities
    group by closed_month, outcome, sourced_by
)

select * from final
