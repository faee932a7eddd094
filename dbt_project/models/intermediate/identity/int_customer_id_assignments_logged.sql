{{ config(materialized='incremental', on_schema_change='fail', full_refresh=false) }}
-- Append-only log of customer ids: the first run records every identifier's id, each later run
-- only identifiers whose id changed (a merge of two persons, or a split after a hub was found).
-- mart map_customer_id_changes reads old → new ids from it. The log is history no source can give
-- back, so a full refresh (`dbt build --full-refresh`) appends to it like any other run
-- (full_refresh=false); to start it again on purpose, drop the table.
with assigned as (
    select * from {{ ref('int_customer_ids_assigned') }}
),

{% if is_incremental() %}
logged as (
    select
        identifier,
        customer_id,
        row_number() over (partition by identifier order by assigned_at desc) as recency
    from {{ this }}
),

latest as (
    select * from logged where recency = 1
),

changed as (
    select assigned.*
    from assigned
    left join latest
        on assigned.identifier = latest.identifier
    where latest.customer_id is null
        or latest.customer_id <> assigned.customer_id
),
{% else %}
changed as (
    select * from assigned
),
{% endif %}

final as (
    select
        identifier,
        customer_id,
        cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S") }}' as {{ dbt.type_timestamp() }}) as assigned_at
    from changed
)

select * from final
