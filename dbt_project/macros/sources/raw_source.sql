{#
    A raw table as staging reads it: every column its source declares (`columns:` with a
    `data_type` in the source's yml), whatever the warehouse holds today.

    - table loaded: the declared columns it has, and a typed null for each declared column it lacks
      (a Salesforce org without a custom field, a field a platform stopped sending);
    - table absent (the source is not configured, or an object had no rows yet, so dlt created
      no table): an empty relation with the declared columns and types.

    So every staging model builds from whatever sources a team has, and marts build from that.
    `source()` is always called, so dbt (and Dagster's lineage) knows the dependency.

    `extra_text_columns`: columns the yml does not declare but a setting may load (a CRM's custom
    fields, var crm_custom_fields), selected the same way as text.
#}
{% macro raw_source(source_name, table_name, extra_text_columns=[]) -%}
    {%- set relation = source(source_name, table_name) -%}
    {#- parsing, or a dbt unit test (whose fixture stands in for the table): read it as it is -#}
    {%- if not execute or model.resource_type == 'unit_test' -%}
        select * from {{ relation }}
    {%- else -%}
        {%- set declared = raw_source_columns(source_name, table_name) -%}
        {%- set declared_names = declared | map(attribute=0) | list -%}
        {%- for name in extra_text_columns if name | lower not in declared_names -%}
            {%- do declared.append((name | lower, dbt.type_string())) -%}
        {%- endfor -%}
        {%- set loaded = load_relation(relation) -%}
        {%- set present = [] -%}
        {%- if loaded is not none -%}
            {%- for column in adapter.get_columns_in_relation(loaded) -%}
                {%- do present.append(column.name | lower) -%}
            {%- endfor -%}
        {%- endif -%}
        select
        {%- for name, data_type in declared %}
            {% if name in present -%}
                {{ adapter.quote(name) }}
            {%- else -%}
                cast(null as {{ data_type }})
            {%- endif %} as {{ adapter.quote(name) }}{{ ',' if not loop.last }}
        {%- endfor %}
        {% if loaded is none -%}
        {# nothing loaded yet: no rows, but every column with its type #}
        where 1 = 0
        {%- else -%}
        from {{ relation }}
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}


{# (name, data_type) of every column a source table declares, in declaration order; fails naming
   the yml to fix when a column has no data_type. #}
{% macro raw_source_columns(source_name, table_name) -%}
    {%- set node = graph.sources.values() | selectattr('source_name', 'equalto', source_name)
                   | selectattr('name', 'equalto', table_name) | first -%}
    {%- set declared = [] -%}
    {%- for column in node.columns.values() -%}
        {%- if not column.data_type -%}
            {{ exceptions.raise_compiler_error(
                "source " ~ source_name ~ "." ~ table_name ~ ": column " ~ column.name
                ~ " has no data_type in " ~ node.original_file_path ~ " (raw_source needs it)") }}
        {%- endif -%}
        {%- do declared.append((column.name | lower, warehouse_type(column.data_type))) -%}
    {%- endfor -%}
    {%- if not declared -%}
        {{ exceptions.raise_compiler_error(
            "source " ~ source_name ~ "." ~ table_name ~ " declares no columns in "
            ~ node.original_file_path ~ " (raw_source needs them)") }}
    {%- endif -%}
    {{ return(declared) }}
{%- endmacro %}


{# True when a relation exists in the warehouse and, if given, has the column. Tests on raw
   tables pass when there is nothing loaded to test. #}
{% macro is_loaded(relation, column_name=none) -%}
    {%- if not execute -%}
        {{ return(true) }}
    {%- endif -%}
    {%- set loaded = load_relation(relation) -%}
    {%- if loaded is none -%}
        {{ return(false) }}
    {%- endif -%}
    {%- if column_name is none -%}
        {{ return(true) }}
    {%- endif -%}
    {%- set wanted = column_name | replace('"', '') | lower -%}
    {%- for column in adapter.get_columns_in_relation(loaded) -%}
        {%- if column.name | lower == wanted -%}
            {{ return(true) }}
        {%- endif -%}
    {%- endfor -%}
    {{ return(false) }}
{%- endmacro %}
