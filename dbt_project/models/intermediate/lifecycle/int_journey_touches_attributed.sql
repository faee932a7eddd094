-- Each journey's person, its number among that person's journeys, and the touches that led to it:
-- the first touch since the person's previous journey began, and the lead-creating touch (the
-- last touch at or before the lead). A journey with no digital touch — an offline event, a
-- referral, a cold call — takes its CRM lead's own channel for both.
with journeys as (
    select * from {{ ref('int_journeys_numbered') }}
),

journey_touches as (
    select * from {{ ref('int_journey_touches_windowed') }}
),

own_leads as (
    select * from {{ ref('int_touchpoints_identified') }}
    where touch_type = 'crm_lead'
),

final as (
    select
        journeys.journey_id,
        journeys.customer_id,
        journeys.journey_number,
        coalesce(first_touch.touched_at, own_lead.touched_at) as first_touch_at,
        coalesce(first_touch.touch_type, own_lead.touch_type) as first_touch_type,
        coalesce(first_touch.channel, own_lead.channel) as first_touch_channel,
        case when first_touch.touchpoint_id is null then own_lead.campaign else first_touch.campaign end
            as first_touch_campaign,
        case when first_touch.touchpoint_id is null then own_lead.keyword else first_touch.keyword end
            as first_touch_keyword,
        case when first_touch.touchpoint_id is null then own_lead.content_id else first_touch.content_id end
            as first_touch_content,
        coalesce(lead_touch.touch_type, own_lead.touch_type) as lead_touch_type,
        coalesce(lead_touch.channel, own_lead.channel) as lead_touch_channel,
        case when lead_touch.touchpoint_id is null then own_lead.campaign else lead_touch.campaign end
            as lead_touch_campaign,
        case when lead_touch.touchpoint_id is null then own_lead.keyword else lead_touch.keyword end
            as lead_touch_keyword,
        case when lead_touch.touchpoint_id is null then own_lead.content_id else lead_touch.content_id end
            as lead_touch_content
    from journeys
    left join journey_touches as first_touch
        on journeys.journey_id = first_touch.journey_id
        and first_touch.from_first = 1
    left join journey_touches as lead_touch
        on journeys.journey_id = lead_touch.journey_id
        and lead_touch.from_last = 1
    left join own_leads as own_lead
        on own_lead.source_record_id = {{ dbt.concat(["'neocrm_lead:'", dbt.cast('journeys.journey_id', dbt.type_string())]) }}
)

select * from final
