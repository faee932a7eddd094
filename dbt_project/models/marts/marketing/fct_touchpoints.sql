-- Every marketing and sales touch of a known person (architecture §5), one row each; see
-- int_touchpoints_identified for what counts as a touch and how its channel is found.
with touchpoints as (
    select * from {{ ref('int_touchpoints_identified') }}
),

final as (
    select * from touchpoints
)

select * from final
