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
    -- A field of the first or lead touch; the CRM lead's own when the journey had no digital touch.
    select
        journeys.journey_id,
        journeys.customer_id,
        journeys.journey_number,
        coalesce(first_touch.touched_at, own_lead.touched_at) as first_touch_at,
        {%- for touch in ['first_touch', 'lead_touch'] %}
        {%- for field, column in [('type', 'touch_type'), ('channel', 'channel'), ('campaign', 'campaign'),
                                  ('keyword', 'keyword'), ('content', 'content_id')] %}
        case when {{ touch }}.touchpoint_id is null then own_lead.{{ column }} else {{ touch }}.{{ column }} end
            as {{ touch }}_{{ field }}{{ ',' if not loop.last or touch == 'first_touch' }}
        {%- endfor %}
        {%- endfor %}
    from journeys
    left join journey_touches as first_touch
        on journeys.journey_id = first_touch.journey_id
        and first_touch.from_first = 1
    left join journey_touches as lead_touch
        on journeys.journey_id = lead_touch.journey_id
        and lead_touch.from_last = 1
    left join own_leads as own_lead
        on journeys.journey_id = own_lead.source_record_id
)

select * from final
