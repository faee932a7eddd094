{# A timestamp with time zone (how dlt lands Salesforce dateTime fields, run times and identity sightings) →
   a UTC timestamp without time zone. #}
{% macro utc_timestamp(column) -%}
    {{ return(adapter.dispatch('utc_timestamp', 'leadloop')(column)) }}
{%- endmacro %}

{% macro default__utc_timestamp(column) -%}
    cast(({{ column }}) at time zone 'UTC' as {{ dbt.type_timestamp() }})
{%- endmacro %}

{# Spark's timestamps are instants (the session's zone is UTC): nothing to convert. #}
{% macro spark__utc_timestamp(column) -%}
    cast({{ column }} as {{ dbt.type_timestamp() }})
{%- endmacro %}


{# Unix seconds (how WeCom sends instants) → a UTC timestamp without time zone. #}
{% macro wecom_unix_seconds_to_timestamp(column) -%}
    {{ epoch_ms_to_timestamp('(' ~ column ~ ') * 1000') }}
{%- endmacro %}
