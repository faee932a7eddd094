{# numerator / denominator as a decimal rate, null when the denominator is 0 or null. #}
{% macro safe_ratio(numerator, denominator, scale=4) -%}
    cast(
        case
            when coalesce({{ denominator }}, 0) = 0 then null
            else 1.0 * ({{ numerator }}) / ({{ denominator }})
        end
        as decimal(12, {{ scale }})
    )
{%- endmacro %}
