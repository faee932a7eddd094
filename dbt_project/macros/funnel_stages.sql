{# The funnel's stages in order, from var funnel_stages: a list of {stage, counts_as}. `won` closes a
   journey; `lost` (outside the funnel's order) closes it too. #}
{% macro funnel_stages() -%}
    {{ return(var('funnel_stages')) }}
{%- endmacro %}

{# Just the stage names, in order. #}
{% macro funnel_stage_names() -%}
    {{ return(funnel_stages() | map(attribute='stage') | list) }}
{%- endmacro %}
