-- Website touches from Sensors: each visit (a run of page views with no gap longer than var
-- web_session_timeout_minutes) as one touch at its landing page, plus form submits, content reads
-- and webinar attendance. A touch's channel comes from its UTM (seed channel_map_utm), else its
-- referrer (channel_map_referrer), else it is direct; content reads take their material's channel.
-- Incremental per visitor (macros/incremental): a night derives the touches of the visitors whose events
-- or seeds changed (int_web_visitor_events_digested), and of visitors it has no touch of yet.
{%- set session_vars = ['web_session_timeout_minutes'] %}
{{ partitioned_incremental('int_web_visitor_events_digested', 'sensors_user_id', session_vars) }}

with digests as (
    select * from {{ ref('int_web_visitor_events_digested') }}
),

events as (
    select events.*
    from {{ ref('stg_sensors__events') }} as events
    {%- if is_incremental() %}
    where not exists (
        select 1
        from {{ this }} as derived
        where {{ partition_key_text('derived.sensors_user_id') }} = {{ partition_key_text('events.sensors_user_id') }}
    )
    {%- endif %}
),

event_types as (
    select * from {{ ref('channel_map_event_type') }}
),

utm_map as (
    select * from {{ ref('channel_map_utm') }}
),

referrer_map as (
    select * from {{ ref('channel_map_referrer') }}
),

content as (
    select * from {{ ref('content_catalog') }}
),

pageviews as (
    select
        *,
        lag(event_at) over (partition by sensors_user_id order by event_at, event_key) as previous_view_at
    from events
    where event_name = '$pageview'
),

visits as (
    -- The landing page view of each visit.
    select *
    from pageviews
    where previous_view_at is null
        or {{ dbt.datediff('previous_view_at', 'event_at', 'second') }} > 60 * {{ var('web_session_timeout_minutes') }}
),

touch_events as (
    select
        visits.event_key,
        visits.event_name,
        visits.sensors_user_id,
        visits.event_at,
        visits.page_path,
        visits.referrer_url,
        visits.utm_source,
        visits.utm_medium,
        visits.utm_campaign,
        visits.utm_term,
        visits.utm_content,
        visits.material_id
    from visits
    union all
    select
        event_key,
        event_name,
        sensors_user_id,
        event_at,
        page_path,
        referrer_url,
        utm_source,
        utm_medium,
        utm_campaign,
        utm_term,
        utm_content,
        material_id
    from events
    where event_name <> '$pageview'
        and event_name in (select event_name from event_types)
),

with_referrer as (
    select
        *,
        {{ dbt.split_part(dbt.split_part('referrer_url', "'//'", 2), "'/'", 1) }} as referrer_domain
    from touch_events
),

classified as (
    select
        with_referrer.event_key,
        event_types.touch_type,
        with_referrer.sensors_user_id,
        with_referrer.event_at as touched_at,
        coalesce(
            content.channel, event_types.channel, utm_exact.channel, utm_any.channel, referrer_map.channel,
            case when with_referrer.utm_source is null then 'direct' else 'unmapped' end
        ) as channel,
        case
            when content.channel is not null or event_types.channel is not null
                then coalesce(event_types.channel_group, 'marketing')
            else coalesce(utm_exact.channel_group, utm_any.channel_group, referrer_map.channel_group, 'marketing')
        end as channel_group,
        coalesce(utm_exact.is_paid, utm_any.is_paid, false) as is_paid,
        with_referrer.utm_source,
        with_referrer.utm_medium,
        with_referrer.utm_campaign as campaign,
        with_referrer.utm_term as keyword,
        coalesce(with_referrer.material_id, with_referrer.utm_content) as content_id,
        with_referrer.page_path as landing_page,
        nullif(with_referrer.referrer_domain, '') as referrer_domain
    from with_referrer
    inner join event_types
        on with_referrer.event_name = event_types.event_name
    left join content
        on with_referrer.material_id = content.material_id
    left join utm_map as utm_exact
        on with_referrer.utm_source = utm_exact.utm_source
        and with_referrer.utm_medium = utm_exact.utm_medium
    left join utm_map as utm_any
        on with_referrer.utm_source = utm_any.utm_source
        and utm_any.utm_medium = '*'
    left join referrer_map
        on with_referrer.utm_source is null
        and with_referrer.referrer_domain = referrer_map.referrer_domain
),

touches as (
    select
        event_key,
        case when touch_type = 'web_session' and is_paid then 'ad_click' else touch_type end as touch_type,
        sensors_user_id,
        touched_at,
        channel,
        channel_group,
        is_paid,
        campaign,
        keyword,
        content_id,
        landing_page,
        referrer_domain
    from classified
),

final as (
    select
        touches.*,
        {{ partition_bookkeeping('digests.inputs_digest', session_vars) }}
    from touches
    left join digests
        on {{ partition_key_text('touches.sensors_user_id') }} = {{ partition_key_text('digests.sensors_user_id') }}
)

select * from final
