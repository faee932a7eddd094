{#
    Incremental models kept per partition (a visitor, an ad-report day, a journey).

    A digest model (int_*_digested, rebuilt in full every night: a cheap aggregate) gives each partition
    an inputs_digest: the number and the summed hashes of the input rows it is derived from, plus the
    seeds it reads. Each incremental model keeps on its rows the inputs_digest they were derived from and
    a logic_digest of its own SQL text and the vars it names. Before a night's insert, a pre-hook
    (stale_partitions_deleted) deletes the rows of every partition whose inputs changed or disappeared,
    and every row when the logic changed; the model then derives the partitions it no longer holds.
    So late and corrected records, re-stitched customers and edited seeds are derived again, whatever
    their age, and an unchanged partition costs one comparison: the incremental result equals a full
    refresh (tests/test_incremental_nights.py). A change of a macro the model calls is not in its
    logic_digest: run a full refresh (`leadloop night --full-refresh`) after such a change.
#}

{% macro row_hash(expressions) %}
    {{- return(adapter.dispatch('row_hash', 'leadloop')(expressions)) -}}
{% endmacro %}

{# A 64-bit hash of a row's values (a list of SQL expressions); nulls hash apart from empty text. #}
{% macro default__row_hash(expressions) -%}
    hash({{ expressions | join(', ') }})
{%- endmacro %}

{% macro postgres__row_hash(expressions) -%}
    hashtextextended(concat_ws(chr(31), {% for expression in expressions -%}
        coalesce(cast({{ expression }} as text), chr(30)){{ ', ' if not loop.last }}
    {%- endfor %}), 0)
{%- endmacro %}

{# As a decimal: summed over many rows, a bigint would overflow (an error where ANSI mode is on). #}
{% macro spark__row_hash(expressions) -%}
    cast(xxhash64({{ expressions | join(', ') }}) as decimal(38, 0))
{%- endmacro %}

{# The digest of a group's rows as text: how many, and their hashes summed (order does not matter). #}
{% macro rows_digest(expressions) -%}
    {{ dbt.concat([
        dbt.cast('count(*)', dbt.type_string()),
        "':'",
        dbt.cast('coalesce(sum(' ~ leadloop.row_hash(expressions) ~ '), 0)', dbt.type_string()),
    ]) }}
{%- endmacro %}

{# What a model's rows are derived by: its SQL text and the values of the vars it names. #}
{% macro incremental_logic_digest(var_names=[]) -%}
    {%- set vars_used = [] -%}
    {%- for name in var_names -%}
        {%- do vars_used.append(name ~ '=' ~ tojson(var(name))) -%}
    {%- endfor -%}
    {{- local_md5(model.raw_code ~ '|' ~ (vars_used | join('|'))) -}}
{%- endmacro %}

{# The bookkeeping columns every partitioned incremental model ends its rows with. #}
{% macro partition_bookkeeping(inputs_digest, var_names=[]) -%}
    {{ inputs_digest }} as inputs_digest,
    cast('{{ leadloop.incremental_logic_digest(var_names) }}' as {{ dbt.type_string() }}) as logic_digest,
    cast('{{ invocation_id }}' as {{ dbt.type_string() }}) as derived_by_invocation_id
{%- endmacro %}

{#
    Pre-hook of a partitioned incremental model: delete the rows whose partition's inputs changed or
    disappeared (their key and digest no longer in the digest model named `digests`), and every row when
    the logic changed.
    With `last_day_column` (a column of the digest model), days later than its latest are deleted too: the
    data's newest day moved back, e.g. after a person was forgotten.
#}
{% macro stale_partitions_deleted(digests, key, var_names=[], last_day_column='') %}
    {%- set kept_columns = adapter.get_columns_in_relation(this) | map(attribute='name') | map('lower') | list
        if is_incremental() else [] -%}
    {%- if is_incremental() and 'logic_digest' not in kept_columns -%}
        {#- A table built before the model was incremental: nothing in it says what it was derived from. -#}
        delete from {{ this }}
    {%- elif is_incremental() -%}
        {%- set keyed_digest = dbt.concat([leadloop.partition_key_text(key), "'|'", 'inputs_digest']) -%}
        delete from {{ this }}
        where logic_digest <> '{{ leadloop.incremental_logic_digest(var_names) }}'
            or {{ keyed_digest }} not in (select {{ keyed_digest }} from {{ ref(digests) }})
            {%- if last_day_column %}
            or score_on > (select max({{ last_day_column }}) from {{ ref(digests) }})
            {%- endif %}
    {%- endif -%}
{% endmacro %}

{#
    Config of a partitioned incremental model: appended rows, its pre-hook, and columns that follow its SQL
    (a new column is added, and filled, because a logic change derives every row again).
#}
{% macro partitioned_incremental(digests, key, var_names=[], last_day_column='') %}
    {{- return(adapter.dispatch('partitioned_incremental', 'leadloop')(digests, key, var_names, last_day_column)) -}}
{% endmacro %}

{% macro default__partitioned_incremental(digests, key, var_names, last_day_column) %}
    {{- config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='sync_all_columns',
        pre_hook=leadloop.stale_partitions_deleted_hook(digests, key, var_names, last_day_column),
    ) -}}
{% endmacro %}

{# The hook as text rendered when the model runs (is_incremental and `this` are known only then). #}
{% macro stale_partitions_deleted_hook(digests, key, var_names, last_day_column) -%}
    {{- "{{ leadloop.stale_partitions_deleted(" ~ tojson(digests) ~ ", " ~ tojson(key) ~ ", " ~ tojson(var_names)
        ~ ", " ~ tojson(last_day_column) ~ ") }}" -}}
{%- endmacro %}

{# Spark builds these models in full: a lake table rewritten each night, no delete statement needed. #}
{% macro spark__partitioned_incremental(digests, key, var_names, last_day_column) %}
    {{- config(materialized='table') -}}
{% endmacro %}

{# The digest of a whole (small) relation, e.g. a seed a model maps with: every column of every row. #}
{% macro relation_digest(relation) -%}
    {%- set columns = adapter.get_columns_in_relation(relation) if execute else [] -%}
    {%- if columns -%}
        (select {{ leadloop.rows_digest(columns | map(attribute='quoted') | list) }} from {{ relation }})
    {%- else -%}
        cast('' as {{ dbt.type_string() }})
    {%- endif -%}
{%- endmacro %}

{# A partition's key as text, null included (events of no visitor are a partition too). #}
{% macro partition_key_text(key) -%}
    coalesce({{ dbt.cast(key, dbt.type_string()) }}, '')
{%- endmacro %}

{# int_ad_performance_days: keep the report rows of days the model holds no row of. #}
{% macro ad_days_not_derived(reports) -%}
    {%- if is_incremental() %}
    where not exists (select 1 from {{ this }} as derived where derived.stat_on = {{ reports }}.stat_on)
    {%- endif %}
{%- endmacro %}

{#
    The journey-day scoring model (int_lead_scores_daily) is incremental per journey: config, and the days
    a night derives.
#}
{% macro journey_days_incremental(var_names=[]) %}
    {{- partitioned_incremental(
        'int_journey_scoring_inputs_digested', 'journey_id', var_names,
        last_day_column='last_scored_on',
    ) -}}
{% endmacro %}

{# The journey days to derive: every day of a journey this model holds no row of, later days of the others. #}
{% macro journey_days_to_derive() %}
    select journey_days.*
    from {{ ref('int_journey_days_spanned') }} as journey_days
    {%- if is_incremental() %}
    left join (
        select
            journey_id,
            max(score_on) as derived_through
        from {{ this }}
        group by journey_id
    ) as derived
        on journey_days.journey_id = derived.journey_id
    where derived.derived_through is null
        or journey_days.score_on > derived.derived_through
    {%- endif %}
{% endmacro %}
