{# Production targets (var production_targets: duckdb, postgres) build each folder into the schema
   of its name (staging, intermediate, marts), so the warehouse schema equals the dbt folder and the
   Dagster group. Any other target — a developer's own, e.g. duckdb_dev — prefixes the folder with
   its schema (dev_marts, dev_staging, …), so work in progress never touches what BI reads.
   On PostgreSQL the production marts build into var postgres_marts_build_schema; the night then
   publishes them into `marts` in one transaction (src/leadloop/publish.py). #}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- elif target.name in var('production_targets') and target.type == 'postgres'
             and custom_schema_name | trim == 'marts' -%}
        {{ var('postgres_marts_build_schema') }}
    {%- elif target.name in var('production_targets') -%}
        {{ custom_schema_name | trim }}
    {%- else -%}
        {{ target.schema }}_{{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
