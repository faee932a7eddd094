with source as (
    {{ raw_source('raw_salesforce', 'opportunities') }}
),

renamed as (
    select
        id as opportunity_id,
        name as opportunity_name,
        account_id,
        owner_id as owner_user_id,
        cast(amount as decimal(18, 2)) as amount,
        currency_iso_code as currency_code,
        stage_name,
        cast(probability as integer) as win_rate_percent,
        close_date as close_on,
        coalesce(is_closed, false) as is_closed,
        coalesce(is_won, false) as is_won,
        loss_reason,
        trim(lead_source) as lead_source,
        type as opportunity_type,
        campaign_id,
        {{ salesforce_system_columns() }}
    from source
)

select * from renamed
