{#- Restricted (schema pii): the names and emails a reviewer compares for each pair of
    marts.fct_identity_review_queue (joined on match_pair_key). -#}
with

queue as (

    select * from {{ ref('fct_identity_review_queue') }}

),

scores as (

    select * from {{ ref('int_identity_match_scores') }}

),

final as (

    select
        queue.match_pair_key,
        scores.full_name_a,
        scores.full_name_b,
        scores.email_a,
        scores.email_b
    from queue
    inner join scores on queue.match_pair_key = scores.match_pair_key

)

select * from final
