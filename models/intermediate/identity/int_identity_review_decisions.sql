{#- Reviewer decisions with each pair in one canonical order (user_id_a < user_id_b), so
    every model matches them with a plain equality join. The seed is a log a reviewer appends
    to: the ids are read in the identity graph's normal form (normalize_identifier: as the
    review queue shows them, whatever their case or stray spaces), the decision in any letter
    case, and a pair decided more than once keeps its latest decision (a reviewer changing
    their mind appends a row; two rows of one pair at the same time stay both and fail the
    key test: which one holds is not known). -#}
with

decisions as (

    select * from {{ ref('identity_review_decisions') }}

),

normalized as (

    select
        {{ normalize_identifier('user_id_a') }} as first_user_id,
        {{ normalize_identifier('user_id_b') }} as second_user_id,
        lower(trim(decision)) as decision,
        reviewer,
        cast(decided_at as {{ dbt.type_timestamp() }}) as decided_at,
        note
    from decisions

),

ordered as (

    select
        case
            when first_user_id < second_user_id then first_user_id else second_user_id
        end as user_id_a,
        case
            when first_user_id < second_user_id then second_user_id else first_user_id
        end as user_id_b,
        decision,
        reviewer,
        decided_at,
        note
    from normalized

),

ranked as (

    select
        user_id_a,
        user_id_b,
        decision,
        reviewer,
        decided_at,
        note,
        rank() over (
            partition by user_id_a, user_id_b order by decided_at desc nulls last
        ) as recency_rank
    from ordered

),

final as (

    select
        user_id_a,
        user_id_b,
        decision,
        decision in ('reject', 'split') as is_cannot_link,
        reviewer,
        decided_at,
        note
    from ranked
    where recency_rank = 1

)

select * from final
