{#- Every uplift score `lawn uplift score` has written: one row per model, account, feature
    day and model version. `uplift` is benefit-signed (positive: the action helps this account;
    for churn, the 30-day churn probability the action removes). `is_driving` marks the score
    the action rule uses for the account-day: the one written last, so after `lawn uplift
    rollback` and a re-score the previous version drives again. -#}
with

scores as (

    select * from {{ ref('stg_ml__uplift_scores') }}

),

models as (

    select * from {{ ref('uplift_models') }}

),

ranked as (

    select
        scores.*,
        row_number() over (
            partition by scores.uplift_model_id, scores.account_id, scores.feature_date
            order by scores.scored_at desc, scores.model_version desc
        ) as recency_rank
    from scores

),

final as (

    select
        ranked.uplift_score_key,
        ranked.uplift_model_id,
        models.rule_id,
        ranked.account_id,
        ranked.feature_date,
        ranked.model_version,
        ranked.recency_rank = 1 as is_driving,
        ranked.uplift,
        ranked.scored_at
    from ranked
    inner join models on ranked.uplift_model_id = models.uplift_model_id

)

select * from final
