{#- Reviewer decisions with each pair in one canonical order (user_id_a < user_id_b), so
    every model matches them with a plain equality join. -#}
with

decisions as (

    select * from {{ ref('identity_review_decisions') }}

),

final as (

    select
        case when user_id_a < user_id_b then user_id_a else user_id_b end as user_id_a,
        case when user_id_a < user_id_b then user_id_b else user_id_a end as user_id_b,
        decision,
        decision in ('reject', 'split') as is_cannot_link,
        reviewer,
        cast(decided_at as {{ dbt.type_timestamp() }}) as decided_at,
        note
    from decisions

)

select * from final
