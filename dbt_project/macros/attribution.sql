{# The rule-based attribution models of mart_attribution, by name: what a model var may name. #}
{% macro rule_based_attribution_models() -%}
    {{ return(['first_touch', 'lead_creation', 'last_touch', 'last_non_direct', 'linear', 'u_shaped', 'w_shaped',
               'time_decay']) }}
{%- endmacro %}


{# floor(amount × part / whole) for non-negative integers, exact: how attribution splits a deal's revenue (in
   fen) and its share (in millionths) among touches without floating point. The product can pass bigint. #}
{% macro floor_share(amount, part, whole) -%}
    {{ return(adapter.dispatch('floor_share', 'leadloop')(amount, part, whole)) }}
{%- endmacro %}

{% macro default__floor_share(amount, part, whole) -%}
    cast(div(cast({{ amount }} as numeric) * cast({{ part }} as numeric), cast({{ whole }} as numeric)) as bigint)
{%- endmacro %}

{% macro duckdb__floor_share(amount, part, whole) -%}
    cast((cast({{ amount }} as hugeint) * cast({{ part }} as hugeint)) // cast({{ whole }} as hugeint) as bigint)
{%- endmacro %}


{# An integer count of hundredths (fen) or millionths as an exact decimal (DuckDB would divide in floating point). #}
{% macro from_integer_units(units, scale, precision=18) -%}
    cast(cast({{ units }} as decimal(18, 0)) * cast(0.{{ '0' * (scale - 1) }}1 as decimal({{ scale }}, {{ scale }}))
        as decimal({{ precision }}, {{ scale }}))
{%- endmacro %}

{# Spark: `div` of decimals is exact integral division; bare `numeric` would be decimal(10, 0) there. #}
{% macro spark__floor_share(amount, part, whole) -%}
    cast((cast({{ amount }} as decimal(38, 0)) * cast({{ part }} as decimal(38, 0))) div cast({{ whole }} as decimal(38, 0)) as bigint)
{%- endmacro %}
