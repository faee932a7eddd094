-- Old customer_id → new customer_id, whenever an identifier moved: two persons merged (new data
-- joined them) or a person split (an identifier became a hub or was blocked). BI tools that stored
-- an old id follow this map.
with logged as (
    select * from {{ ref('int_customer_id_assignments_logged') }}
),

sequenced as (
    select
        identifier,
        customer_id,
        assigned_at,
        lag(customer_id) over (partition by identifier order by assigned_at) as previous_customer_id
    from logged
),

final as (
    select
        previous_customer_id as old_customer_id,
        customer_id as new_customer_id,
        min(assigned_at) as changed_at,
        count(*) as identifiers_moved
    from sequenced
    where previous_customer_id is not null
        and previous_customer_id <> customer_id
    group by previous_customer_id, customer_id
)

select * from final
