{# numerator / denominator as a decimal rounded half away from zero to `scale` places, null when the
   denominator is 0 or null. Inputs are counts or money (at most 4 decimal places). #}
{% macro safe_ratio(numerator, denominator, scale=4) -%}
    {{ return(adapter.dispatch('safe_ratio', 'leadloop')(numerator, denominator, scale)) }}
{%- endmacro %}

{# Postgres divides numerics exactly and rounds half away from zero on the cast. #}
{% macro default__safe_ratio(numerator, denominator, scale) -%}
    cast(
        case
            when coalesce({{ denominator }}, 0) = 0 then null
            else 1.0 * ({{ numerator }}) / ({{ denominator }})
        end
        as decimal(12, {{ scale }})
    )
{%- endmacro %}

{# DuckDB divides decimals in floating point, so a tie such as 41844.84 / 8 = 5230.605 could round
   down. Divide scaled integers instead (exact), rounding half away from zero like Postgres. #}
{% macro duckdb__safe_ratio(numerator, denominator, scale) -%}
    {%- set num = "cast(round((" ~ numerator ~ ") * 10000) as hugeint)" -%}
    {%- set den = "cast(round((" ~ denominator ~ ") * 10000) as hugeint)" -%}
    case
        when coalesce({{ denominator }}, 0) = 0 then null
        else cast(
            cast(
                sign({{ num }}) * sign({{ den }})
                * ((abs({{ num }}) * {{ 10 ** scale }} * 2 + abs({{ den }})) // (2 * abs({{ den }})))
                as decimal(30, 0)
            ) * cast(0.{{ '0' * (scale - 1) }}1 as decimal({{ scale }}, {{ scale }}))
            as decimal(12, {{ scale }})
        )
    end
{%- endmacro %}


{# An amount in another currency times its exchange rate, in the reporting currency to the cent. #}
{% macro converted_amount(amount, rate) -%}
    cast(round(cast({{ amount }} as decimal(18, 2)) * {{ rate }}, 2) as decimal(18, 2))
{%- endmacro %}


{# The reporting currency as a column value (var reporting_currency). #}
{% macro reporting_currency() -%}
    cast('{{ var("reporting_currency") }}' as {{ dbt.type_string() }})
{%- endmacro %}
