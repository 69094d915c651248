{{ config(materialized='table') }}
{#- Fellegi-Sunter scores for user_ids that share no identifier but may be one person:
    pairs in the same account whose deterministic components differ. Each comparison
    (full name, email local part, email domain) falls into a level; the match weight is
    log2 of the prior odds plus log2(m / u) of each level (seed identity_match_weights),
    and the match probability is 2^w / (1 + 2^w). A pair whose email local parts differ
    only by trailing digits (john.smith / john.smith2: how companies name a second person
    with the same name) is never merged automatically: at most it goes to review. -#}
with

profiles as (

    select * from {{ ref('int_identity_user_profiles') }}
    where email is not null

),

weights as (

    select * from {{ ref('identity_match_weights') }}

),

candidate_pairs as (

    select
        left_user.user_id as user_id_a,
        right_user.user_id as user_id_b,
        left_user.account_id,
        left_user.full_name as full_name_a,
        right_user.full_name as full_name_b,
        left_user.email as email_a,
        right_user.email as email_b,
        case
            when left_user.first_seen_at > right_user.first_seen_at
                then left_user.first_seen_at
            else right_user.first_seen_at
        end as comparable_since,
        case
            when left_user.full_name = right_user.full_name then 'exact'
            when {{ string_similarity('left_user.full_name', 'right_user.full_name') }}
                >= {{ var('identity_similarity_threshold') }} then 'similar'
            else 'different'
        end as full_name_level,
        case
            when left_user.email_local_part = right_user.email_local_part then 'exact'
            when
                regexp_replace(left_user.email_local_part, '[0-9]+$', '')
                = regexp_replace(right_user.email_local_part, '[0-9]+$', '')
                then 'numbered_variant'
            when {{ string_similarity(
                'left_user.email_local_part', 'right_user.email_local_part'
            ) }} >= {{ var('identity_similarity_threshold') }} then 'similar'
            else 'different'
        end as email_local_part_level,
        case
            when left_user.email_domain = right_user.email_domain then 'same'
            else 'different'
        end as email_domain_level
    from profiles as left_user
    inner join profiles as right_user
        on
            left_user.account_id = right_user.account_id
            and left_user.user_id < right_user.user_id
            and left_user.deterministic_component != right_user.deterministic_component

),

scored as (

    select
        candidate_pairs.*,
        ln({{ var('identity_match_prior') }} / (1 - {{ var('identity_match_prior') }})) / ln(2)
        + ln(name_weight.m_probability / name_weight.u_probability) / ln(2)
        + ln(local_weight.m_probability / local_weight.u_probability) / ln(2)
        + ln(domain_weight.m_probability / domain_weight.u_probability) / ln(2) as match_weight
    from candidate_pairs
    inner join weights as name_weight
        on
            name_weight.comparison = 'full_name'
            and candidate_pairs.full_name_level = name_weight.level
    inner join weights as local_weight
        on
            local_weight.comparison = 'email_local_part'
            and candidate_pairs.email_local_part_level = local_weight.level
    inner join weights as domain_weight
        on
            domain_weight.comparison = 'email_domain'
            and candidate_pairs.email_domain_level = domain_weight.level

),

probabilities as (

    select
        scored.*,
        power(2, scored.match_weight) / (1 + power(2, scored.match_weight))
            as match_probability
    from scored

),

final as (

    select
        probabilities.user_id_a || '|' || probabilities.user_id_b as match_pair_key,
        probabilities.*,
        case
            when
                probabilities.match_probability >= {{ var('identity_merge_threshold') }}
                and probabilities.email_local_part_level != 'numbered_variant'
                then 'merge'
            when probabilities.match_probability >= {{ var('identity_review_threshold') }}
                then 'review'
            else 'distinct'
        end as match_decision
    from probabilities

)

select * from final
