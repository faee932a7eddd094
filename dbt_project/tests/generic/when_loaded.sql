{# Tests for raw tables, which exist only once a source has loaded rows into them: each passes
   when the table (or the column) is not there, and otherwise tests as dbt's own would. #}

{% test unique_when_loaded(model, column_name) %}
    {% if is_loaded(model, column_name) %}
    select {{ column_name }} as unique_field, count(*) as n_records
    from {{ model }}
    where {{ column_name }} is not null
    group by {{ column_name }}
    having count(*) > 1
    {% else %}
    select 1 as nothing_loaded where 1 = 0
    {% endif %}
{% endtest %}

{% test not_null_when_loaded(model, column_name) %}
    {% if is_loaded(model, column_name) %}
    select {{ column_name }}
    from {{ model }}
    where {{ column_name }} is null
    {% else %}
    select 1 as nothing_loaded where 1 = 0
    {% endif %}
{% endtest %}

{% test accepted_values_when_loaded(model, column_name, values) %}
    {% if is_loaded(model, column_name) %}
    select {{ column_name }} as value_field, count(*) as n_records
    from {{ model }}
    where {{ column_name }} is not null
        and {{ column_name }} not in ({% for value in values %}'{{ value }}'{{ ', ' if not loop.last }}{% endfor %})
    group by {{ column_name }}
    {% else %}
    select 1 as nothing_loaded where 1 = 0
    {% endif %}
{% endtest %}
