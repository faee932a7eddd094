{# Epoch milliseconds (how 销售易 sends instants) → a UTC timestamp without time zone. #}
{% macro epoch_ms_to_timestamp(column) -%}
    {{ return(adapter.dispatch('epoch_ms_to_timestamp', 'leadloop')(column)) }}
{%- endmacro %}

{% macro default__epoch_ms_to_timestamp(column) -%}
    (to_timestamp({{ column }} / 1000.0) at time zone 'UTC')
{%- endmacro %}

{% macro duckdb__epoch_ms_to_timestamp(column) -%}
    epoch_ms(cast({{ column }} as bigint))
{%- endmacro %}

{% macro spark__epoch_ms_to_timestamp(column) -%}
    timestamp_millis(cast({{ column }} as bigint))
{%- endmacro %}


{# A UTC timestamp → wall-clock time in the business time zone (var business_time_zone). #}
{% macro to_business_time(column) -%}
    {{ return(adapter.dispatch('to_business_time', 'leadloop')(column)) }}
{%- endmacro %}

{% macro default__to_business_time(column) -%}
    cast((({{ column }}) at time zone 'UTC') at time zone '{{ var("business_time_zone") }}' as {{ dbt.type_timestamp() }})
{%- endmacro %}

{# Spark has no `at time zone`: its timestamps are instants shown in the session's zone (UTC, leadloop.spark). #}
{% macro spark__to_business_time(column) -%}
    from_utc_timestamp({{ column }}, '{{ var("business_time_zone") }}')
{%- endmacro %}


{# The first day of the business-time-zone month an instant falls in, as a date. #}
{% macro business_month(column) -%}
    cast({{ dbt.date_trunc('month', to_business_time(column)) }} as date)
{%- endmacro %}


{# The first instant (UTC, without time zone) of a calendar day in the business time zone: how a
   date-only field (Salesforce's ConvertedDate) becomes a time. #}
{% macro business_day_start(column) -%}
    {{ return(adapter.dispatch('business_day_start', 'leadloop')(column)) }}
{%- endmacro %}

{% macro default__business_day_start(column) -%}
    cast((cast({{ column }} as {{ dbt.type_timestamp() }}) at time zone '{{ var("business_time_zone") }}') at time zone 'UTC' as {{ dbt.type_timestamp() }})
{%- endmacro %}

{% macro spark__business_day_start(column) -%}
    to_utc_timestamp(cast({{ column }} as {{ dbt.type_timestamp() }}), '{{ var("business_time_zone") }}')
{%- endmacro %}
