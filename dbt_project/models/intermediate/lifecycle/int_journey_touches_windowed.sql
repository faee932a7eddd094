-- Every touch in each journey's window: the person's own touches (what a CRM records left out) after their
-- previous journey's lead and up to this journey's lead, ranked from the first and from the last.
-- The journeys' first and lead-creating touches, and the content that led to a registration, are
-- read from here.
with journeys as (
    select * from {{ ref('int_journeys_numbered') }}
),

touchpoints as (
    select * from {{ ref('int_touchpoints_identified') }}
),

final as (
    select
        journeys.journey_id,
        journeys.customer_id,
        journeys.journey_number,
        journeys.lead_at,
        touchpoints.touchpoint_id,
        touchpoints.touched_at,
        touchpoints.touch_type,
        touchpoints.channel,
        touchpoints.campaign,
        touchpoints.keyword,
        touchpoints.content_id,
        row_number() over (
            partition by journeys.journey_id order by touchpoints.touched_at, touchpoints.touchpoint_id
        ) as from_first,
        row_number() over (
            partition by journeys.journey_id order by touchpoints.touched_at desc, touchpoints.touchpoint_id asc
        ) as from_last
    from journeys
    inner join touchpoints
        on journeys.customer_id = touchpoints.customer_id
        and not touchpoints.is_crm_record
        and journeys.lead_at >= touchpoints.touched_at
        and (journeys.previous_lead_at is null or journeys.previous_lead_at < touchpoints.touched_at)
)

select * from final
