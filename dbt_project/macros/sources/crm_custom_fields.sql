{#
    Custom CRM fields scoring reads (var crm_custom_fields): the columns a team's CUSTOM_FIELDS setting
    loads into raw_<crm>.leads / contacts / accounts, carried through staging and int_crm__* as
    custom_<name> and unpivoted in int_crm__custom_field_values. dbt SQL is static, so the list is a var
    (see its comment in dbt_project.yml for why a var and not the raw tables' extra columns).
#}

{# The CRM objects a custom field may sit on: var key → (object name in int_crm__custom_field_values). #}
{% macro crm_custom_field_objects() -%}
    {{ return({'leads': 'lead', 'contacts': 'contact', 'accounts': 'account'}) }}
{%- endmacro %}


{# var crm_custom_fields[object], checked: column names (lower-case snake_case), [] when unset. #}
{% macro crm_custom_fields(object) -%}
    {%- set configured = var('crm_custom_fields', {}) or {} -%}
    {%- if configured is not mapping -%}
        {{ exceptions.raise_compiler_error(
            "var crm_custom_fields must map leads, contacts and accounts to lists of column names, e.g. "
            ~ "{leads: [budget_range], contacts: [], accounts: []}; got " ~ configured) }}
    {%- endif -%}
    {%- set unknown = configured.keys() | reject('in', crm_custom_field_objects().keys() | list) | list -%}
    {%- if unknown -%}
        {{ exceptions.raise_compiler_error(
            "var crm_custom_fields names unknown CRM objects " ~ unknown ~ "; known: leads, contacts, accounts") }}
    {%- endif -%}
    {%- set names = configured.get(object) or [] -%}
    {%- if names is string or names is mapping -%}
        {{ exceptions.raise_compiler_error(
            "var crm_custom_fields: " ~ object ~ " needs a list of column names, got " ~ names) }}
    {%- endif -%}
    {%- for name in names -%}
        {%- if not modules.re.fullmatch('[a-z][a-z0-9_]*', name | string) -%}
            {{ exceptions.raise_compiler_error(
                "var crm_custom_fields: " ~ object ~ " lists '" ~ name ~ "'; give the column its meaning loads as"
                ~ " (lower-case snake_case, e.g. budgetRange → budget_range)") }}
        {%- endif -%}
    {%- endfor -%}
    {{ return(names | list) }}
{%- endmacro %}


{# In a staging model: every custom field of the object as text, named custom_<name> (a null column
   where the raw table lacks it: raw_source adds it). #}
{% macro crm_custom_field_columns(object) -%}
    {%- for name in crm_custom_fields(object) %}
        {{ dbt.cast(adapter.quote(name), dbt.type_string()) }} as custom_{{ name }},
    {%- endfor %}
{%- endmacro %}


{# In an int_crm__* union: the custom_<name> columns passed on as they are. #}
{% macro crm_custom_field_passthrough(object) -%}
    {%- for name in crm_custom_fields(object) %}
        custom_{{ name }},
    {%- endfor %}
{%- endmacro %}
