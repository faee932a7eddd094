-- One row per calendar day: the time spine MetricFlow joins metrics to (dbt's own date_spine, no
-- package). The range is vars metric_days_from / metric_days_until; a metric's months outside it
-- still aggregate, only time offsets and filling gaps need the spine.
with days as (
    {{ dbt.date_spine(
        datepart='day',
        start_date="cast('" ~ var('metric_days_from') ~ "' as date)",
        end_date="cast('" ~ var('metric_days_until') ~ "' as date)"
    ) }}
),

final as (
    select cast(date_day as date) as date_day
    from days
)

select * from final
