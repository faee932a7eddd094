-- Every channel a channel map can give, and the marts' own 'unmapped' and 'no_touch', has a display
-- name in seed channel_labels. A row returned is a channel to add there. (A new channel map seed
-- belongs in the list below.)
-- It reads every channel map; Dagster shows it as a check of seed channel_labels.
{{ config(meta={'dagster': {'ref': {'name': 'channel_labels'}}}) }}
{%- set maps = ['channel_map_ad_platform', 'channel_map_crm_activity', 'channel_map_crm_campaign_type',
                'channel_map_crm_lead_source', 'channel_map_event_type', 'channel_map_referrer',
                'channel_map_utm', 'channel_map_wecom_state'] %}
with mapped_channels as (
    {% for map in maps %}
    select channel, '{{ map }}' as found_in from {{ ref(map) }} where channel is not null and channel <> ''
    union all
    {% endfor %}
    select 'unmapped' as channel, 'the maps'' fallback' as found_in
    union all
    select 'no_touch' as channel, 'mart_attribution' as found_in
),

labels as (
    select * from {{ ref('channel_labels') }}
)

select distinct mapped_channels.channel, mapped_channels.found_in
from mapped_channels
left join labels
    on mapped_channels.channel = labels.channel
where labels.channel is null
