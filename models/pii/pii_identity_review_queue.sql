{#- Restricted (schema pii): the names and emails a reviewer compares for each pair of
    marts.fct_identity_review_queue (same match_pair_key), and the pair's user_ids in clear
    (the queue shows an email-shaped one as its keyed hash; a decision in
    seeds/identity/identity_review_decisions.csv names them in clear). -#}
with

queue as (

    select * from {{ ref('fct_identity_review_queue') }}

),

scores as (

    -- only the pairs the queue can hold: the masked ids below are computed for these, not for
    -- every scored pair (4.5M in one account of 3,000 users: 70 s)
    select * from {{ ref('int_identity_match_scores') }}
    where match_decision = 'review'

),

final as (

    select
        queue.match_pair_key,
        scores.user_id_a,
        scores.user_id_b,
        scores.full_name_a,
        scores.full_name_b,
        scores.email_a,
        scores.email_b
    from queue
    inner join scores
        on
            queue.user_id_a = {{ masked_identifier('scores.user_id_a') }}
            and queue.user_id_b = {{ masked_identifier('scores.user_id_b') }}

)

select * from final
