{{ config(meta={"dagster": {"ref": {"name": "int_persons_stitched"}}}) }}
-- int_persons_stitched holds finished persons: the contraction converged within var
-- identity_max_rounds, both ends of every edge have the same person_key, every identifier on an
-- edge has a row, and each person_key is the smallest identifier of its person.
with persons as (
    select * from {{ ref('int_persons_stitched') }}
),

edges as (
    select * from {{ ref('int_identifiers_linked') }}
),

rounds_ran_out as (
    select distinct
        cast(null as {{ dbt.type_string() }}) as identifier_a,
        cast(null as {{ dbt.type_string() }}) as identifier_b,
        'not converged in ' || cast(rounds_needed as {{ dbt.type_string() }})
        || ' rounds: raise var identity_max_rounds' as failure
    from persons
    where not is_converged
),

edges_split as (
    select
        edges.identifier_a,
        edges.identifier_b,
        'the ends of this edge have different person keys' as failure
    from edges
    inner join persons as persons_a
        on edges.identifier_a = persons_a.identifier
    inner join persons as persons_b
        on edges.identifier_b = persons_b.identifier
    where persons_a.person_key <> persons_b.person_key
),

identifiers_missing as (
    select
        edges.identifier_a,
        edges.identifier_b,
        'an identifier of this edge has no row' as failure
    from edges
    left join persons as persons_a
        on edges.identifier_a = persons_a.identifier
    left join persons as persons_b
        on edges.identifier_b = persons_b.identifier
    where (edges.identifier_a is not null and persons_a.identifier is null)
        or (edges.identifier_b is not null and persons_b.identifier is null)
),

person_smallest as (
    select
        person_key,
        min({{ identity_byte_order('identifier') }}) as smallest_identifier
    from persons
    group by person_key
),

keys_not_smallest as (
    select
        person_key as identifier_a,
        smallest_identifier as identifier_b,
        'person_key is not the smallest identifier of its person' as failure
    from person_smallest
    where person_key <> smallest_identifier
),

final as (
    select * from rounds_ran_out
    union all
    select * from edges_split
    union all
    select * from identifiers_missing
    union all
    select * from keys_not_smallest
)

select * from final
