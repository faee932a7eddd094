-- Each CRM lead's channel, through the marketers' seed; values the seed lacks stay visible as
-- 'unmapped' (and fail a test) rather than disappearing from the funnel.
with leads as (
    select * from {{ ref('stg_neocrm__leads') }}
),

channel_map as (
    select * from {{ ref('channel_map_crm_lead_source') }}
    where source_system = 'neocrm'
),

mapped as (
    select
        leads.lead_id,
        leads.lead_source,
        coalesce(channel_map.channel, 'unmapped') as channel,
        coalesce(channel_map.channel_group, 'unmapped') as channel_group
    from leads
    left join channel_map
        on leads.lead_source = channel_map.lead_source
)

select * from mapped
