{# Lead scoring (models intermediate/scoring, marts/scoring): the helpers that differ per warehouse, and the
   vars checked where they are read, so a wrong setting fails the compile naming the var. #}

{# The calendar day an instant (UTC) falls on in the business time zone (var business_time_zone). #}
{% macro business_day(column) -%}
    cast({{ to_business_time(column) }} as date)
{%- endmacro %}


{# True when `text` contains a match of the regular expression `pattern`, ignoring case. #}
{% macro regex_search(text, pattern) -%}
    {{ return(adapter.dispatch('regex_search', 'leadloop')(text, pattern)) }}
{%- endmacro %}

{% macro default__regex_search(text, pattern) -%}
    ({{ text }} ~* {{ pattern }})
{%- endmacro %}

{% macro duckdb__regex_search(text, pattern) -%}
    regexp_matches({{ text }}, {{ pattern }}, 'i')
{%- endmacro %}

{# Java regular expressions: the (?i) flag ignores case. #}
{% macro spark__regex_search(text, pattern) -%}
    ({{ text }} rlike concat('(?i)', {{ pattern }}))
{%- endmacro %}


{# A number as text rounded to 2 places without trailing zeros ('15', '7.5', '11.37', '-10'). #}
{% macro points_text(points) -%}
    {%- set digits = dbt.cast("cast(round(" ~ points ~ ", 2) as decimal(12, 2))", dbt.type_string()) -%}
    case
        when {{ digits }} like '%.00' then {{ dbt.replace(digits, "'.00'", "''") }}
        when {{ digits }} like '%.%0' then substr({{ digits }}, 1, {{ dbt.length(digits) }} - 1)
        else {{ digits }}
    end
{%- endmacro %}


{# The same with its sign, as a score's reasons show points ('+15', '-10'). #}
{% macro signed_points_text(points) -%}
    {{ dbt.concat(["case when round(" ~ points ~ ", 2) >= 0 then '+' else '' end", points_text(points)]) }}
{%- endmacro %}


{# var lead_score_grades, checked: the lowest total of grades A, B and C (below C is D), strictly falling. #}
{% macro lead_score_grade_floors() -%}
    {%- set grades = var('lead_score_grades') -%}
    {%- if grades is not mapping or (grades.keys() | list | sort) != ['A', 'B', 'C'] -%}
        {{ exceptions.raise_compiler_error(
            "var lead_score_grades must map exactly A, B and C to the lowest total of each grade (below C is D), e.g. "
            ~ "{A: 70, B: 45, C: 20}; got " ~ grades) }}
    {%- endif -%}
    {%- for grade in ['A', 'B', 'C'] -%}
        {%- if grades[grade] is not number or grades[grade] is boolean -%}
            {{ exceptions.raise_compiler_error(
                "var lead_score_grades: grade " ~ grade ~ " needs a number, got " ~ grades[grade]) }}
        {%- endif -%}
    {%- endfor -%}
    {%- if not (grades['A'] > grades['B'] > grades['C']) -%}
        {{ exceptions.raise_compiler_error(
            "var lead_score_grades: the floors must fall from A to C (A > B > C); got A=" ~ grades['A']
            ~ ", B=" ~ grades['B'] ~ ", C=" ~ grades['C']) }}
    {%- endif -%}
    {{ return(grades) }}
{%- endmacro %}


{# The grade of a total score (var lead_score_grades). #}
{% macro lead_score_grade(total) -%}
    {%- set floors = lead_score_grade_floors() -%}
    case
        when {{ total }} >= {{ floors['A'] }} then 'A'
        when {{ total }} >= {{ floors['B'] }} then 'B'
        when {{ total }} >= {{ floors['C'] }} then 'C'
        else 'D'
    end
{%- endmacro %}


{# var lead_score_mql_threshold, checked: the total at which a lead counts as an MQL by its score. #}
{% macro lead_score_mql_threshold() -%}
    {%- set threshold = var('lead_score_mql_threshold') -%}
    {%- if threshold is not number or threshold is boolean -%}
        {{ exceptions.raise_compiler_error(
            "var lead_score_mql_threshold must be a number (the total from which a lead is an MQL by score); got "
            ~ threshold) }}
    {%- endif -%}
    {{ return(threshold) }}
{%- endmacro %}


{# var lead_score_reason_count, checked: how many rules a score's reasons name. #}
{% macro lead_score_reason_count() -%}
    {%- set count = var('lead_score_reason_count') -%}
    {%- if count is not integer or count is boolean or count < 1 -%}
        {{ exceptions.raise_compiler_error(
            "var lead_score_reason_count must be a whole number of at least 1 (how many rules top_reasons names); got "
            ~ count) }}
    {%- endif -%}
    {{ return(count) }}
{%- endmacro %}


{# var dormant_account_after_months, checked: months without a purchase after which a company is dormant. #}
{% macro dormant_account_after_months() -%}
    {%- set months = var('dormant_account_after_months') -%}
    {%- if months is not integer or months is boolean or months < 1 -%}
        {{ exceptions.raise_compiler_error(
            "var dormant_account_after_months must be a whole number of months of at least 1 (how long a company "
            ~ "that bought before may go without a purchase or an open deal before it is dormant); got " ~ months) }}
    {%- endif -%}
    {{ return(months) }}
{%- endmacro %}


{# var hot_lead_reengaging_touch_types, checked: the fct_touchpoints touch types that re-engage a dormant company,
   as a SQL list of quoted strings. #}
{% macro hot_lead_reengaging_touch_types() -%}
    {%- set known = ['ad_click', 'web_session', 'form_submit', 'content_read', 'webinar_attend', 'wecom_add',
                     'crm_lead', 'campaign_response', 'sales_call', 'sales_email', 'sales_meeting', 'sales_task'] -%}
    {%- set types = var('hot_lead_reengaging_touch_types') -%}
    {%- if types is string or types is not iterable or types | length == 0 -%}
        {{ exceptions.raise_compiler_error(
            "var hot_lead_reengaging_touch_types must be a non-empty list of fct_touchpoints touch types, e.g. "
            ~ "[web_session, content_read]; got " ~ types) }}
    {%- endif -%}
    {%- for kind in types -%}
        {%- if kind not in known -%}
            {{ exceptions.raise_compiler_error(
                "var hot_lead_reengaging_touch_types: " ~ kind ~ " is no touch type of fct_touchpoints (one of "
                ~ known | join(', ') ~ ")") }}
        {%- endif -%}
    {%- endfor -%}
    {%- for kind in types -%}'{{ kind }}'{% if not loop.last %}, {% endif %}{%- endfor -%}
{%- endmacro %}


{# A var of the fitted scorers, checked: a whole number of at least 1 (days, journeys). #}
{% macro lead_score_model_days(name) -%}
    {%- set value = var(name) -%}
    {%- if value is not integer or value is boolean or value < 1 -%}
        {{ exceptions.raise_compiler_error(
            "var " ~ name ~ " must be a whole number of at least 1 (see dbt_project.yml); got " ~ value) }}
    {%- endif -%}
    {{ return(value) }}
{%- endmacro %}


{# What a fit rule may look at (seed scoring_fit_rules.attribute_name): the attributes
   int_journey_attributes_collected collects, custom.<name> for each custom CRM field of var crm_custom_fields. #}
{% macro fit_rule_attribute_names() -%}
    {%- set names = ['industry', 'employee_count', 'province', 'job_title', 'company_name', 'email_domain'] -%}
    {%- for object in crm_custom_field_objects() -%}
        {%- for name in crm_custom_fields(object) if ('custom.' ~ name) not in names -%}
            {%- do names.append('custom.' ~ name) -%}
        {%- endfor -%}
    {%- endfor -%}
    {{ return(names) }}
{%- endmacro %}


{# Every touch of a known person: its type and the business day it fell on (fct_touchpoints). #}
{% macro person_touch_days() -%}
    select
        customer_id,
        touch_type,
        {{ business_day('touched_at') }} as touched_on
    from {{ ref('fct_touchpoints') }}
    where customer_id is not null
{%- endmacro %}
