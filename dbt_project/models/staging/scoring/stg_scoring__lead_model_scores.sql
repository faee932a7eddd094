-- The fitted lead scorers' walk-forward scores, as the asset scoring/lead_model_scores wrote them (one row per
-- journey and open day of a scored quarter). Empty, with its columns, until the asset has run.
with source as (
    {{ raw_source('scoring', 'lead_model_scores') }}
),

renamed as (
    select
        journey_id,
        score_on,
        trained_before_on,
        logistic_score,
        logistic_version,
        gradient_boosting_score,
        gradient_boosting_version,
        top_factors,
        random_score
    from source
)

select * from renamed
