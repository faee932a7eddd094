-- Every touch of a known person, before it is published: website visits and ad clicks with their UTM
-- and landing page, form submits, content reads, webinar attendance, WeCom adds with their channel
-- code, and what the CRMs record — leads (the only trace of offline events), campaign responses,
-- and sales calls, e-mails and meetings. A person is known once anything but an anonymous cookie
-- identifies them; their earlier anonymous visits count too. Touches a CRM records are flagged
-- is_crm_record: a journey's own touches (first, lead-creating) are the person's, not the CRM's.
with web_touches as (
    select * from {{ ref('int_web_touches_classified') }}
),

follow_relations as (
    select * from {{ ref('stg_wecom__follow_relations') }}
),

wecom_states as (
    select * from {{ ref('channel_map_wecom_state') }}
),

crm_leads as (
    -- A journey recorded in both CRMs is one touch: its twin leads are left out.
    select leads.*
    from {{ ref('int_crm__leads') }} as leads
    inner join {{ ref('int_journey_leads_matched') }} as journey_leads
        on leads.lead_id = journey_leads.lead_id
    where not journey_leads.is_twin
),

lead_channels as (
    select * from {{ ref('int_lead_channels_mapped') }}
),

campaign_members as (
    select * from {{ ref('int_crm__campaign_members') }}
    where has_responded
),

campaign_types as (
    select * from {{ ref('channel_map_crm_campaign_type') }}
),

utm_map as (
    select * from {{ ref('channel_map_utm') }}
),

activities as (
    select * from {{ ref('int_crm__activities') }}
),

activity_types as (
    select * from {{ ref('channel_map_crm_activity') }}
),

customer_ids as (
    select * from {{ ref('int_customer_ids_assigned') }}
),

customer_accounts as (
    select * from {{ ref('int_customer_accounts_resolved') }}
),

known_customers as (
    select distinct customer_id
    from customer_ids
    where {{ dbt.split_part('identifier', "':'", 1) }} not in ('sensors_user', 'sensors_distinct_id')
),

touches as (
    select
        'sensors' as source_system,
        {{ record_node('sensors_user', 'sensors_user_id') }} as record_id,
        event_key as source_key,
        touch_type,
        touched_at,
        channel,
        channel_group,
        campaign,
        keyword,
        content_id,
        landing_page,
        referrer_domain
    from web_touches

    union all

    select
        'wecom' as source_system,
        {{ record_node('wecom_contact', 'follow_relations.external_user_id') }} as record_id,
        follow_relations.follow_relation_id as source_key,
        'wecom_add' as touch_type,
        follow_relations.added_at as touched_at,
        coalesce(wecom_states.channel, 'unmapped') as channel,
        coalesce(wecom_states.channel_group, 'unmapped') as channel_group,
        wecom_states.campaign,
        cast(null as {{ dbt.type_string() }}) as keyword,
        follow_relations.channel_state as content_id,
        cast(null as {{ dbt.type_string() }}) as landing_page,
        cast(null as {{ dbt.type_string() }}) as referrer_domain
    from follow_relations
    left join wecom_states
        on coalesce(follow_relations.channel_state, '(none)') = wecom_states.channel_state

    union all

    select
        crm_leads.crm as source_system,
        crm_leads.lead_id as record_id,
        crm_leads.crm_lead_id as source_key,
        'crm_lead' as touch_type,
        crm_leads.created_at as touched_at,
        lead_channels.channel,
        lead_channels.channel_group,
        crm_leads.utm_campaign as campaign,
        crm_leads.utm_term as keyword,
        crm_leads.utm_content as content_id,
        cast(null as {{ dbt.type_string() }}) as landing_page,
        cast(null as {{ dbt.type_string() }}) as referrer_domain
    from crm_leads
    inner join lead_channels
        on crm_leads.lead_id = lead_channels.lead_id

    union all

    select
        campaign_members.crm as source_system,
        campaign_members.person_record_id as record_id,
        campaign_members.crm_campaign_member_id as source_key,
        'campaign_response' as touch_type,
        campaign_members.responded_at as touched_at,
        coalesce(utm_exact.channel, utm_any.channel, campaign_types.channel, 'unmapped') as channel,
        coalesce(utm_exact.channel_group, utm_any.channel_group, campaign_types.channel_group, 'unmapped')
            as channel_group,
        campaign_members.campaign_name as campaign,
        cast(null as {{ dbt.type_string() }}) as keyword,
        cast(null as {{ dbt.type_string() }}) as content_id,
        cast(null as {{ dbt.type_string() }}) as landing_page,
        cast(null as {{ dbt.type_string() }}) as referrer_domain
    from campaign_members
    left join utm_map as utm_exact
        on campaign_members.utm_source = utm_exact.utm_source
        and campaign_members.utm_medium = utm_exact.utm_medium
    left join utm_map as utm_any
        on campaign_members.utm_source = utm_any.utm_source
        and utm_any.utm_medium = '*'
    left join campaign_types
        on campaign_members.crm = campaign_types.source_system
        and campaign_members.campaign_type = campaign_types.campaign_type

    union all

    select
        activities.crm as source_system,
        activities.person_record_id as record_id,
        activities.crm_activity_id as source_key,
        coalesce(activity_types.touch_type, 'unmapped') as touch_type,
        activities.occurred_at as touched_at,
        coalesce(activity_types.channel, 'unmapped') as channel,
        coalesce(activity_types.channel_group, 'unmapped') as channel_group,
        cast(null as {{ dbt.type_string() }}) as campaign,
        cast(null as {{ dbt.type_string() }}) as keyword,
        cast(null as {{ dbt.type_string() }}) as content_id,
        cast(null as {{ dbt.type_string() }}) as landing_page,
        cast(null as {{ dbt.type_string() }}) as referrer_domain
    from activities
    left join activity_types
        on activities.activity_type = activity_types.activity_type
    where activities.person_record_id is not null
),

final as (
    select
        {{ dbt.hash(dbt.concat(['touches.source_system', "'|'", 'touches.touch_type', "'|'", 'touches.source_key'])) }}
            as touchpoint_id,
        customer_ids.customer_id,
        customer_accounts.account_id,
        touches.touched_at,
        touches.touch_type,
        touches.channel,
        touches.channel_group,
        touches.campaign,
        touches.keyword,
        touches.content_id,
        touches.landing_page,
        touches.referrer_domain,
        touches.source_system,
        touches.record_id as source_record_id,
        touches.source_system in ('neocrm', 'salesforce') as is_crm_record
    from touches
    inner join customer_ids
        on touches.record_id = customer_ids.identifier
    inner join known_customers
        on customer_ids.customer_id = known_customers.customer_id
    left join customer_accounts
        on customer_ids.customer_id = customer_accounts.customer_id
)

select * from final
