with source as (
    {{ raw_source('raw_wecom', 'contact_ways') }}
),

renamed as (
    select
        config_id as contact_way_id,
        nullif(trim(state), '') as channel_state,
        remark as contact_way_name,
        cast(type as {{ dbt.type_int() }}) as contact_way_type_code,
        case type
            when 1 then 'single_staff'
            when 2 then 'multi_staff'
            else 'unknown'
        end as contact_way_type,
        case scene
            when 1 then 'mini_program'
            when 2 then 'qr_code'
            else 'unknown'
        end as contact_way_scene,
        cast(lower(skip_verify) = 'true' as boolean) as is_skip_verify,
        qr_code as qr_code_url,
        user_ids as staff_user_ids_json,
        party_ids as department_ids_json,
        {{ snapshot_bookkeeping_columns() }}
    from source
)

select * from renamed
