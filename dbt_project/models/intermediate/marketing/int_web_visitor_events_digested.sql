-- One row per Sensors visitor: the digest of everything int_web_touches_classified derives the visitor's
-- touches from (the visitor's events, and the seeds that name channels and touch types). A visitor whose
-- digest changed since the touches were derived gets them derived again (macros/incremental).
with events as (
    select * from {{ ref('stg_sensors__events') }}
),

seeds as (
    select
        {{ dbt.concat([
            relation_digest(ref('channel_map_event_type')), "'/'",
            relation_digest(ref('channel_map_utm')), "'/'",
            relation_digest(ref('channel_map_referrer')), "'/'",
            relation_digest(ref('content_catalog')),
        ]) }} as seeds_digest
),

visitors as (
    select
        sensors_user_id,
        {{ rows_digest([
            'event_key', 'event_name', 'event_at', 'page_path', 'referrer_url', 'utm_source', 'utm_medium',
            'utm_campaign', 'utm_term', 'utm_content', 'material_id',
        ]) }} as events_digest
    from events
    group by sensors_user_id
),

final as (
    select
        visitors.sensors_user_id,
        {{ dbt.concat(['visitors.events_digest', "'/'", 'seeds.seeds_digest']) }} as inputs_digest
    from visitors
    cross join seeds
)

select * from final
