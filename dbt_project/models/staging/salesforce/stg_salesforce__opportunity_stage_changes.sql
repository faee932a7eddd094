with source as (
    {{ raw_source('raw_salesforce', 'opportunity_history') }}
),

renamed as (
    select
        id as opportunity_stage_change_id,
        opportunity_id,
        stage_name,
        cast(amount as decimal(18, 2)) as amount,
        currency_iso_code as currency_code,
        cast(probability as integer) as win_rate_percent,
        close_date as close_on,
        coalesce(is_deleted, false) as is_deleted,
        {{ utc_timestamp('created_date') }} as entered_at
    from source
)

select * from renamed
