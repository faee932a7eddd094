-- Sales activities logged in a CRM, one row each: calls and e-mails (Salesforce Task by its subtype)
-- and meetings (Event), with the person they were with (the lead or contact of WhoId, as a record
-- name) and the deal they were about (WhatId, when it is an opportunity). 销售易's activity records
-- are not loaded yet: a 销售易-only team has none.
with tasks as (
    select * from {{ ref('stg_salesforce__tasks') }}
    where not is_deleted
),

events as (
    select * from {{ ref('stg_salesforce__events') }}
    where not is_deleted
),

unioned as (
    select
        'salesforce' as crm,
        {{ record_node('salesforce_task', 'task_id') }} as activity_id,
        task_id as crm_activity_id,
        case
            when task_subtype = 'Call' then 'call'
            when task_subtype = 'Email' then 'email'
            else 'task'
        end as activity_type,
        who_id,
        what_id,
        owner_user_id,
        subject,
        coalesce(completed_at, created_at) as occurred_at
    from tasks

    union all

    select
        'salesforce' as crm,
        {{ record_node('salesforce_event', 'event_id') }} as activity_id,
        event_id as crm_activity_id,
        'meeting' as activity_type,
        who_id,
        what_id,
        owner_user_id,
        subject,
        coalesce(started_at, activity_at, created_at) as occurred_at
    from events
),

final as (
    -- Salesforce ids name their object in their first three characters: 00Q lead, 003 contact,
    -- 006 opportunity.
    select
        crm,
        activity_id,
        crm_activity_id,
        activity_type,
        case
            when substr(who_id, 1, 3) = '00Q' then {{ record_node('salesforce_lead', 'who_id') }}
            when substr(who_id, 1, 3) = '003' then {{ record_node('salesforce_contact', 'who_id') }}
        end as person_record_id,
        case
            when substr(what_id, 1, 3) = '006' then {{ record_node('salesforce_opportunity', 'what_id') }}
        end as opportunity_id,
        owner_user_id,
        subject,
        occurred_at
    from unioned
)

select * from final
