-- Seed funnel_stage_labels labels every stage of var funnel_stages (the list the models read), in the same
-- order, plus lost; a stage missing from one of them is a row here.
{%- set stages = funnel_stage_names() + ['lost'] %}
with labels as (
    select * from {{ ref('funnel_stage_labels') }}
),

wanted as (
    {%- for stage in stages %}
    select '{{ stage }}' as funnel_stage, {{ loop.index }} as stage_order
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),

final as (
    select coalesce(wanted.funnel_stage, labels.funnel_stage) as funnel_stage
    from wanted
    full outer join labels
        on wanted.funnel_stage = labels.funnel_stage
        and wanted.stage_order = labels.stage_order
    where wanted.funnel_stage is null or labels.funnel_stage is null
)

select * from final
