{#- Every churn score the model has written, one row per account, feature day and model
    version. `is_driving` marks the score that drives actions for the account-day: of the
    live (non-shadow) scores, the one written last, so after `lawn model rollback` and a
    re-score the previous version's scores drive again while the newer ones stay on record.
    `logit` is the sum of the score's contributions (intercept + coefficient x standardised
    value per feature) and `top_contributions` names the three largest by absolute size. -#}
with

scores as (

    select * from {{ ref('stg_ml__churn_scores') }}

),

contributions as (

    select * from {{ ref('stg_ml__churn_score_contributions') }}

),

explained as (

    select
        churn_score_key,
        sum(contribution) as logit,
        {{ ordered_text_list(
            "case when contribution_rank <= 3 then feature || '=' "
            ~ "|| case when contribution >= 0 then '+' else '' end "
            ~ "|| " ~ number_to_text('contribution', 3) ~ " end",
            "'; '",
            ['contribution_rank'],
        ) }} as top_contributions
    from contributions
    group by churn_score_key

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
        ranked.churn_score_key,
        ranked.account_id,
        ranked.feature_date,
        ranked.model_version,
        ranked.is_shadow,
        coalesce(ranked.live_rank = 1, false) as is_driving,
        ranked.churn_probability,
        explained.logit,
        explained.top_contributions,
        ranked.scored_at
    from ranked
    left join explained on ranked.churn_score_key = explained.churn_score_key

)

select * from final
