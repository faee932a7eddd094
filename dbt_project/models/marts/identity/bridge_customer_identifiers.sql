-- Every identifier of the person graph and the customer it belongs to: phones, e-mails, WeChat unionids
-- and WeCom external ids only as salted md5 hashes (pii_hash); CRM and Sensors ids in clear so analysts
-- can join them.
-- Blocked and hub identifiers are listed with their reason and no customer.
with screened as (
    select * from {{ ref('int_identifiers_screened') }}
    where graph = 'person'
),

customer_ids as (
    select * from {{ ref('int_customer_ids_assigned') }}
),

sightings as (
    select
        identifier,
        identifier_type,
        record_id,
        {{ dbt.split_part('record_type', "'_'", 1) }} as source_system,
        first_seen_at,
        last_seen_at,
        exclusion_reason
    from screened
),

systems as (
    select distinct
        identifier,
        source_system
    from sightings
),

systems_listed as (
    select
        identifier,
        {{ dbt.listagg('source_system', "','", 'order by source_system') }} as source_systems
    from systems
    group by identifier
),

identifiers as (
    select
        identifier,
        identifier_type,
        count(distinct record_id) as record_count,
        min(first_seen_at) as first_seen_at,
        max(last_seen_at) as last_seen_at,
        max(exclusion_reason) as exclusion_reason
    from sightings
    group by identifier, identifier_type
),

final as (
    select
        identifiers.identifier_type,
        {{ pii_hash('identifiers.identifier') }} as identifier_hash,
        case
            when identifiers.identifier_type in ('phone', 'email', 'wechat_unionid', 'wecom_contact') then null
            else substr(identifiers.identifier, {{ dbt.length('identifiers.identifier_type') }} + 2)
        end as identifier_value,
        customer_ids.customer_id,
        identifiers.exclusion_reason,
        systems_listed.source_systems,
        cast(identifiers.record_count as integer) as record_count,
        identifiers.first_seen_at,
        identifiers.last_seen_at
    from identifiers
    left join customer_ids
        on identifiers.identifier = customer_ids.identifier
        and identifiers.exclusion_reason is null
    inner join systems_listed
        on identifiers.identifier = systems_listed.identifier
)

select * from final
