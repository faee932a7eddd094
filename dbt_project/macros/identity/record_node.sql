{# The identity graph's name of a source record, `<record type>:<id>` — the same name
   src/leadloop/identity/observations.py gives it — so models can join their rows to the graph. #}
{% macro record_node(record_type, id_expression) -%}
    {{ dbt.concat(["'" ~ record_type ~ ":'", dbt.cast(id_expression, dbt.type_string())]) }}
{%- endmacro %}
