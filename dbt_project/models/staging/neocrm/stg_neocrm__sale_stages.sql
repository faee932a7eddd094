with source as (
    {{ raw_source('raw_neocrm', 'sale_stages') }}
),

renamed as (
    select
        cast(id as {{ dbt.type_bigint() }}) as sale_stage_id,
        stage_name as sale_stage_name,
        cast(order_no as integer) as stage_order,
        cast(win_rate as integer) as win_rate_percent
    from source
)

select * from renamed
