-- Every time a CRM opportunity entered a stage, by stage name: 销售易's stage history, Salesforce's
-- OpportunityHistory (a row per change of stage, amount or close date: the first row of a stage is
-- its entry) and OpportunityFieldHistory on StageName where the org tracks it. An opportunity without any history row counts as having entered its current stage
-- when it was last modified (flagged is_inferred).
with neocrm_changes as (
    select * from {{ ref('stg_neocrm__opportunity_stage_changes') }}
),

neocrm_sale_stages as (
    select * from {{ ref('stg_neocrm__sale_stages') }}
),

salesforce_changes as (
    select * from {{ ref('stg_salesforce__opportunity_stage_changes') }}
    where not is_deleted
),

salesforce_field_changes as (
    -- OpportunityFieldHistory, when the org tracks StageName: the same entries, another way in.
    select * from {{ ref('stg_salesforce__opportunity_field_changes') }}
    where not is_deleted and field_name = 'StageName'
),

opportunities as (
    select * from {{ ref('int_crm__opportunities') }}
),

recorded as (
    select
        'neocrm' as crm,
        {{ record_node('neocrm_opportunity', 'neocrm_changes.opportunity_id') }} as opportunity_id,
        neocrm_sale_stages.sale_stage_name as stage_name,
        neocrm_changes.entered_at
    from neocrm_changes
    inner join neocrm_sale_stages
        on neocrm_changes.sale_stage_id = neocrm_sale_stages.sale_stage_id

    union all

    select
        'salesforce' as crm,
        {{ record_node('salesforce_opportunity', 'opportunity_id') }} as opportunity_id,
        stage_name,
        entered_at
    from salesforce_changes

    union all

    select
        'salesforce' as crm,
        {{ record_node('salesforce_opportunity', 'opportunity_id') }} as opportunity_id,
        new_value as stage_name,
        changed_at as entered_at
    from salesforce_field_changes
),

without_history as (
    select
        opportunities.crm,
        opportunities.opportunity_id,
        opportunities.stage_name,
        opportunities.updated_at as entered_at
    from opportunities
    where opportunities.stage_name is not null
        and not exists (
            select 1
            from recorded
            where recorded.opportunity_id = opportunities.opportunity_id
        )
),

final as (
    select
        crm,
        opportunity_id,
        stage_name,
        entered_at,
        false as is_inferred
    from recorded
    union all
    select
        crm,
        opportunity_id,
        stage_name,
        entered_at,
        true as is_inferred
    from without_history
)

select * from final
