-- Campaign responses recorded in a CRM (Salesforce CampaignMember), with the person (lead or
-- contact record name) and the campaign's name, type and UTM fields. 销售易 has no campaign
-- membership in what leadloop loads.
with members as (
    select * from {{ ref('stg_salesforce__campaign_members') }}
    where not is_deleted
),

campaigns as (
    select * from {{ ref('stg_salesforce__campaigns') }}
    where not is_deleted
),

final as (
    select
        'salesforce' as crm,
        {{ record_node('salesforce_campaign_member', 'members.campaign_member_id') }} as campaign_member_id,
        members.campaign_member_id as crm_campaign_member_id,
        coalesce(
            {{ record_node('salesforce_lead', 'members.lead_id') }},
            {{ record_node('salesforce_contact', 'members.contact_id') }}
        ) as person_record_id,
        campaigns.campaign_name,
        campaigns.campaign_type,
        campaigns.utm_source,
        campaigns.utm_medium,
        members.has_responded,
        members.created_at as responded_at
    from members
    inner join campaigns
        on members.campaign_id = campaigns.campaign_id
)

select * from final
