{# The median of an expression, as an aggregate, on every adapter we support. #}
{% macro median(expression) -%}
    {{ return(adapter.dispatch('median', 'leadloop')(expression)) }}
{%- endmacro %}

{% macro default__median(expression) -%}
    percentile_cont(0.5) within group (order by {{ expression }})
{%- endmacro %}

{% macro duckdb__median(expression) -%}
    median({{ expression }})
{%- endmacro %}
