{#- Pairs of user_ids the probabilistic model is unsure about (match probability between
    the review and merge thresholds) that no reviewer has decided yet. Decisions go into
    seeds/identity/identity_review_decisions.csv and apply on the next build. An email-shaped
    user_id is shown as its keyed hash (masked_identifier), in match_pair_key too (`user_id_a|
    user_id_b` as shown). The names, emails and user_ids in clear to compare and to decide on
    are in pii.pii_identity_review_queue (same match_pair_key). -#}
with

scores as (

    select * from {{ ref('int_identity_match_scores') }}
    where match_decision = 'review'

),

decisions as (

    select * from {{ ref('int_identity_review_decisions') }}

),

final as (

    select
        {{ masked_identifier('scores.user_id_a') }} || '|'
        || {{ masked_identifier('scores.user_id_b') }} as match_pair_key,
        {{ masked_identifier('scores.user_id_a') }} as user_id_a,
        {{ masked_identifier('scores.user_id_b') }} as user_id_b,
        scores.account_id,
        scores.full_name_level,
        scores.email_local_part_level,
        scores.email_domain_level,
        scores.activity_level,
        scores.device_level,
        scores.match_weight,
        scores.match_probability
    from scores
    left join decisions
        on
            scores.user_id_a = decisions.user_id_a
            and scores.user_id_b = decisions.user_id_b
    where decisions.user_id_a is null

)

select * from final
