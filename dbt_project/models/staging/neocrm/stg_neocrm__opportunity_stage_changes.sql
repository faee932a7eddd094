with source as (
    {{ raw_source('raw_neocrm', 'opportunity_stage_history') }}
),

renamed as (
    select
        cast(id as {{ dbt.type_bigint() }}) as opportunity_stage_change_id,
        cast(opportunity_id as {{ dbt.type_bigint() }}) as opportunity_id,
        cast(sale_stage_id as {{ dbt.type_bigint() }}) as sale_stage_id,
        {{ epoch_ms_to_timestamp('created_at') }} as entered_at
    from source
)

select * from renamed
