{# A timestamp with time zone (how dlt lands Salesforce dateTime fields) → UTC without time zone. #}
{% macro salesforce_utc(column) -%}
    {{ return(adapter.dispatch('salesforce_utc', 'leadloop')(column)) }}
{%- endmacro %}

{% macro default__salesforce_utc(column) -%}
    cast(({{ column }}) at time zone 'UTC' as {{ dbt.type_timestamp() }})
{%- endmacro %}
