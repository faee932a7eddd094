-- Every value of a custom CRM field scoring reads (var crm_custom_fields), one row per CRM record and field:
-- the custom_<name> columns of int_crm__leads, int_crm__contacts and int_crm__accounts unpivoted, so that
-- a field a team adds reaches scoring (int_journey_attributes_collected) without a change to any model.
-- record_id is the record's name in the CRM layer (lead_id, contact_id, account_record_id: unique across
-- CRMs and objects); a record of both CRMs is two rows, each under its own record. Empty values are left out;
-- values stay as the CRM holds them (trimmed), as text.
{%- set sources = [
    ('leads', 'lead_id'),
    ('contacts', 'contact_id'),
    ('accounts', 'account_record_id'),
] %}
{%- set objects = crm_custom_field_objects() %}
{%- set selects = [] %}
{%- for object, key in sources %}
    {%- for name in crm_custom_fields(object) %}
        {%- do selects.append((object, key, name)) %}
    {%- endfor %}
{%- endfor %}

with leads as (
    select * from {{ ref('int_crm__leads') }}
),

contacts as (
    select * from {{ ref('int_crm__contacts') }}
),

accounts as (
    select * from {{ ref('int_crm__accounts') }}
),

unpivoted as (
    {%- for object, key, name in selects %}
    select
        crm,
        '{{ objects[object] }}' as crm_object,
        {{ key }} as record_id,
        '{{ name }}' as field_name,
        trim(custom_{{ name }}) as field_value
    from {{ object }}
    {{- '\n\n    union all\n' if not loop.last }}
    {%- else %}
    -- No custom field configured: no rows, the same columns.
    select
        cast(null as {{ dbt.type_string() }}) as crm,
        cast(null as {{ dbt.type_string() }}) as crm_object,
        cast(null as {{ dbt.type_string() }}) as record_id,
        cast(null as {{ dbt.type_string() }}) as field_name,
        cast(null as {{ dbt.type_string() }}) as field_value
    where 1 = 0
    {%- endfor %}
),

final as (
    select
        cast(crm as {{ dbt.type_string() }}) as crm,
        cast(crm_object as {{ dbt.type_string() }}) as crm_object,
        cast(record_id as {{ dbt.type_string() }}) as record_id,
        cast(field_name as {{ dbt.type_string() }}) as field_name,
        cast(field_value as {{ dbt.type_string() }}) as field_value
    from unpivoted
    where field_value is not null and field_value <> ''
)

select * from final
