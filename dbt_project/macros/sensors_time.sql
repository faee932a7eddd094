{# Sensors writes `time` as project-local wall-clock text ('YYYY-MM-DD HH:MM:SS.mmm'); this turns
   it into a UTC timestamp without time zone. The project's zone is var sensors_time_zone
   (default Asia/Shanghai, where Chinese deployments run). #}
{% macro sensors_local_to_utc(column) -%}
    {{ return(adapter.dispatch('sensors_local_to_utc', 'leadloop')(column)) }}
{%- endmacro %}

{% macro default__sensors_local_to_utc(column) -%}
    cast(
        (cast({{ column }} as {{ dbt.type_timestamp() }}) at time zone '{{ var("sensors_time_zone", "Asia/Shanghai") }}')
        at time zone 'UTC'
        as {{ dbt.type_timestamp() }}
    )
{%- endmacro %}

{% macro spark__sensors_local_to_utc(column) -%}
    to_utc_timestamp(cast({{ column }} as {{ dbt.type_timestamp() }}), '{{ var("sensors_time_zone", "Asia/Shanghai") }}')
{%- endmacro %}
