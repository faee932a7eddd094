{#
    The marts' hash of a personal identifier: md5 of the warehouse's secret key followed by the
    identifier. The key comes from a table the night writes (source privacy.marts_hash_key), never from a
    var or env_var, so it appears in no compiled SQL and no log. Python matches these hashes with
    leadloop.privacy.salt.marts_hash.
#}
{% macro pii_hash(expression) -%}
{{ dbt.hash(dbt.concat(["(select hash_key from " ~ source('privacy', 'marts_hash_key') ~ ")", expression])) }}
{%- endmacro %}
