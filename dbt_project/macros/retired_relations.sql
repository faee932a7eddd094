{#
    Tables of models the project no longer has, dropped at the start of every invocation that runs models, so
    an upgraded warehouse does not keep them (dbt itself never drops a relation it no longer knows). Add a
    model here when it is removed or renamed.
#}
{% macro retired_relations() -%}
    {{ return([
        ('intermediate', 'int_journey_touches_decayed'),
        ('intermediate', 'int_journey_behaviour_points_decayed'),
    ]) }}
{%- endmacro %}

{% macro drop_retired_relations() %}
    {%- if execute and flags.WHICH in ('build', 'run') -%}
        {%- for schema_name, identifier in retired_relations() -%}
            {%- set relation = adapter.get_relation(
                database=target.database, schema=generate_schema_name(schema_name, none), identifier=identifier) -%}
            {%- if relation is not none -%}
                {{ log("dropping " ~ relation ~ ": its model was retired (macros/retired_relations.sql)", info=true) }}
                {%- do adapter.drop_relation(relation) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
{% endmacro %}
