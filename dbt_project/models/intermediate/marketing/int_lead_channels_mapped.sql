-- Each CRM lead's channel, through the marketers' seed (per CRM: 销售易 and Salesforce name lead
-- sources differently); values the seed lacks stay visible as 'unmapped' (and fail a test) rather
-- than disappearing from the funnel.
with leads as (
    select * from {{ ref('int_crm__leads') }}
),

channel_map as (
    select * from {{ ref('channel_map_crm_lead_source') }}
),

mapped as (
    select
        leads.lead_id,
        leads.crm,
        leads.lead_source,
        coalesce(channel_map.channel, 'unmapped') as channel,
        coalesce(channel_map.channel_group, 'unmapped') as channel_group
    from leads
    left join channel_map
        on leads.crm = channel_map.source_system
        and leads.lead_source = channel_map.lead_source
)

select * from mapped
