-- Each person's (customer_id) business day with touches of a type, paired with every day of theirs with
-- touches of that type up to it, itself included: earlier_touches on earlier_touched_on, age_days days
-- before touched_on. What the decayed sums as of each touch day are made from (int_customer_touches_decayed,
-- int_customer_behaviour_points_decayed). A person has tens of touch days of a type, so the pairs stay
-- a small multiple of the touches.

with touchpoints as (
    {{ person_touch_days() }}
),

touch_days as (
    select
        customer_id,
        touch_type,
        touched_on,
        count(*) as touches
    from touchpoints
    group by customer_id, touch_type, touched_on
),

paired as (
    select
        touch_days.customer_id,
        touch_days.touch_type,
        touch_days.touched_on,
        earlier.touched_on as earlier_touched_on,
        cast(earlier.touches as integer) as earlier_touches,
        cast({{ dbt.datediff('earlier.touched_on', 'touch_days.touched_on', 'day') }} as integer) as age_days
    from touch_days
    inner join touch_days as earlier
        on touch_days.customer_id = earlier.customer_id
        and touch_days.touch_type = earlier.touch_type
        and earlier.touched_on <= touch_days.touched_on
)

select * from paired
