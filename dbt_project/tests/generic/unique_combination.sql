{# Rows must be unique over a combination of columns (we cannot install dbt_utils: no hub). A raw
   table that has not been loaded yet passes. #}
{% test unique_combination(model, columns) %}
    {% if is_loaded(model) %}
    select {{ columns | join(', ') }}, count(*) as occurrences
    from {{ model }}
    group by {{ columns | join(', ') }}
    having count(*) > 1
    {% else %}
    select 1 as nothing_loaded where 1 = 0
    {% endif %}
{% endtest %}
