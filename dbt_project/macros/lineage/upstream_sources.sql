{# The source tables (`source_name.table`) a node reads, directly or through the models it reads:
   walked in dbt's graph at run time. #}
{% macro upstream_source_tables(unique_id) -%}
    {%- set found = [] -%}
    {%- set visited = [] -%}
    {%- do _collect_upstream_sources(unique_id, found, visited) -%}
    {{ return(found | unique | sort | list) }}
{%- endmacro %}

{% macro _collect_upstream_sources(unique_id, found, visited) -%}
    {%- do visited.append(unique_id) -%}
    {%- for parent in graph.nodes[unique_id].depends_on.nodes -%}
        {%- if parent.startswith('source.') -%}
            {%- set source = graph.sources[parent] -%}
            {%- do found.append(source.source_name ~ '.' ~ source.name) -%}
        {%- elif parent in graph.nodes and parent not in visited -%}
            {%- do _collect_upstream_sources(parent, found, visited) -%}
        {%- endif -%}
    {%- endfor -%}
{%- endmacro %}
