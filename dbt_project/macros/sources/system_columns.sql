{# The system fields of a Salesforce object, last in its staging select: IsDeleted (not on User,
   whose records are deactivated, never deleted: deletable=false), CreatedDate, LastModifiedDate and
   SystemModstamp as UTC timestamps. #}
{% macro salesforce_system_columns(deletable=true) -%}
    {% if deletable -%}
        coalesce(is_deleted, false) as is_deleted,
        {% endif -%}
        {{ utc_timestamp('created_date') }} as created_at,
        {{ utc_timestamp('last_modified_date') }} as updated_at,
        {{ utc_timestamp('system_modstamp') }} as system_modified_at
{%- endmacro %}


{# The bookkeeping columns leadloop.extract.common.snapshot adds to every row of a full-snapshot table
   (WeCom's), last in its staging select: is_deleted, and when the row was deleted, first loaded and
   last written, as UTC timestamps. #}
{% macro snapshot_bookkeeping_columns() -%}
        is_deleted,
        {{ utc_timestamp('deleted_at') }} as deleted_at,
        {{ utc_timestamp('first_seen_at') }} as first_seen_at,
        {{ utc_timestamp('last_changed_at') }} as last_changed_at
{%- endmacro %}
