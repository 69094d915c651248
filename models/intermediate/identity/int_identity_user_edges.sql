{{ config(materialized='table') }}
{#- A table: two models and three tests read it, and as a view each recomputed the
    deterministic and probabilistic links (docs/performance.md, "Views read many times"). -#}
{#- All links between user_ids the identity graph uses: deterministic ones, and pairs the
    probabilistic model scored at or above the merge threshold, unless a reviewer rejected
    or split them. -#}
with

deterministic as (

    select * from {{ ref('int_identity_deterministic_edges') }}

),

scores as (

    select * from {{ ref('int_identity_match_scores') }}
    where match_decision = 'merge'

),

decisions as (

    select * from {{ ref('int_identity_review_decisions') }}
    where is_cannot_link

),

probabilistic as (

    select
        scores.user_id_a as node_a,
        scores.user_id_b as node_b,
        'probabilistic' as link_reason,
        'p=' || {{ number_to_text('scores.match_probability', 4) }}
            as evidence,
        scores.comparable_since as first_seen_at
    from scores
    left join decisions
        on
            scores.user_id_a = decisions.user_id_a
            and scores.user_id_b = decisions.user_id_b
    where decisions.user_id_a is null

),

final as (

    select * from deterministic
    union all
    select * from probabilistic

)

select * from final
