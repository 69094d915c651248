{#- Every churn score the model has written, one row per account, feature day and model
    version. `is_driving` marks the score that drives actions for the account-day: of the
    live (non-shadow) scores, the one written last, so after `lawn model rollback` and a
    re-score the previous version's scores drive again while the newer ones stay on record. -#}
with

scores as (

    select * from {{ ref('stg_ml__churn_scores') }}

),

ranked as (

    select
        scores.*,
        case
            when not scores.is_shadow
                then row_number() over (
                        partition by scores.account_id, scores.feature_date, scores.is_shadow
                        order by scores.scored_at desc, scores.model_version desc
                    )
        end as live_rank
    from scores

),

final as (

    select
        churn_score_key,
        account_id,
        feature_date,
        model_version,
        is_shadow,
        coalesce(live_rank = 1, false) as is_driving,
        churn_probability,
        scored_at
    from ranked

)

select * from final
