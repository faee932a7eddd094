-- Every identifier each raw record carries, as the identity asset normalised it (one row per record
-- and identifier). Empty, with its columns, until a source with people or companies has loaded.
with source as (
    {{ raw_source('identity', 'identifier_observations') }}
),

renamed as (
    select
        record_id,
        record_type,
        graph,
        identifier_type,
        raw_value,
        identifier,
        phone_kind,
        rejection_reason,
        first_seen_at,
        last_seen_at
    from source
)

select * from renamed
