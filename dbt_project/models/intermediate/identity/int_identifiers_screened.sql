-- Every usable identifier on every record, screened: values in the blocked seed identify nobody,
-- and an identifier shared by more records' phones than identity_hub_limits allows is a hub (a
-- switchboard, an info@ mailbox) — both are kept here with their exclusion reason and join no
-- graph (architecture §4).
with observations as (
    select * from {{ ref('stg_identity__identifier_observations') }}
),

blocked_values as (
    select * from {{ ref('identity_blocked_values') }}
),

hub_limits as (
    select * from {{ ref('identity_hub_limits') }}
),

usable as (
    select
        record_id,
        record_type,
        graph,
        identifier_type,
        identifier,
        min({{ utc_timestamp('first_seen_at') }}) as first_seen_at,
        max({{ utc_timestamp('last_seen_at') }}) as last_seen_at
    from observations
    where identifier is not null
    group by record_id, record_type, graph, identifier_type, identifier
),

blocked as (
    select distinct usable.identifier
    from usable
    inner join blocked_values
        on usable.identifier_type = blocked_values.identifier_type
        and usable.identifier = {{ dbt.concat(['blocked_values.identifier_type', "':'", 'blocked_values.blocked_value']) }}
),

not_blocked as (
    select usable.*
    from usable
    left join blocked
        on usable.identifier = blocked.identifier
    where blocked.identifier is null
),

linked_counts as (
    -- How many distinct identifiers of each type share a record with each identifier.
    select
        identifier_on_record.graph,
        identifier_on_record.identifier_type,
        identifier_on_record.identifier,
        other_on_record.identifier_type as linked_type,
        count(distinct other_on_record.identifier) as linked
    from not_blocked as identifier_on_record
    inner join not_blocked as other_on_record
        on identifier_on_record.record_id = other_on_record.record_id
        and identifier_on_record.graph = other_on_record.graph
        and identifier_on_record.identifier <> other_on_record.identifier
    group by
        identifier_on_record.graph,
        identifier_on_record.identifier_type,
        identifier_on_record.identifier,
        other_on_record.identifier_type
),

hubs as (
    select distinct
        linked_counts.graph,
        linked_counts.identifier
    from linked_counts
    inner join hub_limits
        on linked_counts.graph = hub_limits.graph
        and linked_counts.identifier_type = hub_limits.identifier_type
        and linked_counts.linked_type = hub_limits.linked_type
    where linked_counts.linked > hub_limits.max_linked
),

final as (
    select
        usable.record_id,
        usable.record_type,
        usable.graph,
        usable.identifier_type,
        usable.identifier,
        usable.first_seen_at,
        usable.last_seen_at,
        case
            when blocked.identifier is not null then 'blocked'
            when hubs.identifier is not null then 'hub'
        end as exclusion_reason
    from usable
    left join blocked
        on usable.identifier = blocked.identifier
    left join hubs
        on usable.graph = hubs.graph
        and usable.identifier = hubs.identifier
)

select * from final
