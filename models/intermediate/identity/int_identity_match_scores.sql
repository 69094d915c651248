{{ config(materialized='table') }}
{#- Fellegi-Sunter scores for user_ids that share no identifier but may be one person:
    pairs in the same account whose deterministic components differ. Five comparisons,
    each with levels (seed identity_match_weights); the match weight is log2 of the prior
    odds plus log2(m / u) of each level, and the probability is 2^w / (1 + 2^w).
    - full name: exact, exact_shared (the same name, but carried by three or more user_ids
      of the account: weak evidence, a term-frequency adjustment), similar (each differing
      part at least 5 letters and at most 2 edits away), different (including sharing only
      the first or only the last name), missing;
    - email local part (without a +tag): same_mailbox (the same mailbox, kept apart by the
      deterministic step because it is shared, used concurrently or by differently named
      people), exact (other domain), numbered_variant (trailing digits differ: john.smith
      / john.smith2), name_variant (only separators differ, jsmith / j.smith, but not a
      doubled separator, which is a typo; or the same
      last-name token with the first token equal or its initial, john.a.smith / j.smith /
      john.smith: how companies name a second John Smith), typo (Levenshtein at most 2
      for local parts of 5+ characters, 1 for 2-4), different;
    - email domain: same, different;
    - activity: sequential, brief_overlap, concurrent; device: shared (seen on a common
      browser or device) or none (int_identity_user_overlaps).
    String distances are Levenshtein edit counts, identical on every engine. Numbered and
    name variants, and a shared mailbox used concurrently, are never merged automatically:
    at most they go to review. -#}
{#- the edits a local part may be from another's and still be a typo: 2 from 5 letters, 1
    from 2 letters, none below -#}
{%- set local_part_typo_edits -%}
    case
        when least(length(candidate_pairs.local_part_a), length(candidate_pairs.local_part_b)) >= 5 then 2
        when least(length(candidate_pairs.local_part_a), length(candidate_pairs.local_part_b)) >= 2 then 1
        else 0
    end
{%- endset %}
with

profiles as (

    select * from {{ ref('int_identity_user_profiles') }}
    where email is not null

),

user_overlaps as (

    select * from {{ ref('int_identity_user_overlaps') }}

),

weights as (

    select * from {{ ref('identity_match_weights') }}

),

prepared as (

    select
        user_id,
        account_id,
        first_seen_at,
        deterministic_component,
        first_name,
        last_name,
        full_name,
        email,
        email_domain,
        {{ dbt.split_part('email_local_part', "'+'", 1) }} as local_part,
        replace(
            replace(
                translate({{ dbt.split_part('email_local_part', "'+'", 1) }}, '_-', '..'),
                '..', '.'
            ),
            '..', '.'
        ) as local_dotted
    from profiles

),

namesakes as (

    select
        account_id,
        full_name,
        count(*) as namesakes
    from profiles
    where full_name is not null
    group by account_id, full_name

),

tokens as (

    select
        prepared.*,
        namesakes.namesakes,
        regexp_replace(prepared.local_part, '[0-9]+$', '') as local_base,
        substr(
            prepared.local_part,
            length(regexp_replace(prepared.local_part, '[0-9]+$', '')) + 1
        ) as local_digits,
        translate(regexp_replace(prepared.local_part, '[0-9]+$', ''), '._-', '')
            as local_squeezed,
        regexp_replace({{ dbt.split_part('prepared.local_dotted', "'.'", 1) }}, '[0-9]+$', '')
            as first_token,
        regexp_replace({{ dbt.split_part('prepared.local_dotted', "'.'", -1) }}, '[0-9]+$', '')
            as last_token
    from prepared
    left join namesakes
        on
            prepared.account_id = namesakes.account_id
            and prepared.full_name = namesakes.full_name

),

candidate_pairs as (

    select
        left_user.user_id as user_id_a,
        right_user.user_id as user_id_b,
        left_user.account_id,
        left_user.namesakes,
        left_user.full_name as full_name_a,
        right_user.full_name as full_name_b,
        left_user.email as email_a,
        right_user.email as email_b,
        left_user.first_name as first_name_a,
        right_user.first_name as first_name_b,
        left_user.last_name as last_name_a,
        right_user.last_name as last_name_b,
        left_user.local_part as local_part_a,
        right_user.local_part as local_part_b,
        left_user.local_dotted as local_dotted_a,
        right_user.local_dotted as local_dotted_b,
        left_user.local_base as local_base_a,
        right_user.local_base as local_base_b,
        left_user.local_digits as local_digits_a,
        right_user.local_digits as local_digits_b,
        left_user.local_squeezed as local_squeezed_a,
        right_user.local_squeezed as local_squeezed_b,
        left_user.first_token as first_token_a,
        right_user.first_token as first_token_b,
        left_user.last_token as last_token_a,
        right_user.last_token as last_token_b,
        left_user.email_domain as email_domain_a,
        right_user.email_domain as email_domain_b,
        coalesce(user_overlaps.activity_level, 'sequential') as activity_level,
        case when user_overlaps.shares_device then 'shared' else 'none' end as device_level,
        case
            when left_user.first_seen_at > right_user.first_seen_at
                then left_user.first_seen_at
            else right_user.first_seen_at
        end as comparable_since
    from tokens as left_user
    inner join tokens as right_user
        on
            left_user.account_id = right_user.account_id
            and left_user.user_id < right_user.user_id
            and left_user.deterministic_component != right_user.deterministic_component
    left join user_overlaps
        on
            left_user.user_id = user_overlaps.user_id_a
            and right_user.user_id = user_overlaps.user_id_b

),

leveled as (

    select
        candidate_pairs.*,
        case
            when
                candidate_pairs.first_name_a is null or candidate_pairs.first_name_b is null
                or candidate_pairs.last_name_a is null or candidate_pairs.last_name_b is null
                then 'missing'
            when
                candidate_pairs.first_name_a = candidate_pairs.first_name_b
                and candidate_pairs.last_name_a = candidate_pairs.last_name_b
                and candidate_pairs.namesakes > 2
                then 'exact_shared'
            when
                candidate_pairs.first_name_a = candidate_pairs.first_name_b
                and candidate_pairs.last_name_a = candidate_pairs.last_name_b
                then 'exact'
            when
                {{ name_part_agrees(
                    'candidate_pairs.first_name_a', 'candidate_pairs.first_name_b'
                ) }}
                and {{ name_part_agrees(
                    'candidate_pairs.last_name_a', 'candidate_pairs.last_name_b'
                ) }}
                then 'similar'
            else 'different'
        end as full_name_level,
        case
            when
                candidate_pairs.local_part_a = candidate_pairs.local_part_b
                and candidate_pairs.email_domain_a = candidate_pairs.email_domain_b
                then 'same_mailbox'
            when candidate_pairs.local_part_a = candidate_pairs.local_part_b then 'exact'
            when
                candidate_pairs.local_digits_a != candidate_pairs.local_digits_b
                and {{ within_edits(
                    'candidate_pairs.local_base_a', 'candidate_pairs.local_base_b', 2
                ) }}
                then 'numbered_variant'
            when
                candidate_pairs.local_dotted_a != candidate_pairs.local_dotted_b
                and (
                    candidate_pairs.local_squeezed_a = candidate_pairs.local_squeezed_b
                    or (
                        candidate_pairs.last_token_a = candidate_pairs.last_token_b
                        and candidate_pairs.last_token_a != ''
                        and (
                            candidate_pairs.first_token_a = candidate_pairs.first_token_b
                            or (
                                length(candidate_pairs.first_token_a) = 1
                                and candidate_pairs.first_token_a
                                = substr(candidate_pairs.first_token_b, 1, 1)
                            )
                            or (
                                length(candidate_pairs.first_token_b) = 1
                                and candidate_pairs.first_token_b
                                = substr(candidate_pairs.first_token_a, 1, 1)
                            )
                        )
                    )
                )
                then 'name_variant'
            when
                {{ within_edits(
                    'candidate_pairs.local_part_a', 'candidate_pairs.local_part_b',
                    local_part_typo_edits
                ) }}
                then 'typo'
            else 'different'
        end as email_local_part_level,
        case
            when candidate_pairs.email_domain_a = candidate_pairs.email_domain_b then 'same'
            else 'different'
        end as email_domain_level
    from candidate_pairs

),

scored as (

    select
        leveled.*,
        ln({{ var('identity_match_prior') }} / (1 - {{ var('identity_match_prior') }})) / ln(2)
        + ln(name_weight.m_probability / name_weight.u_probability) / ln(2)
        + ln(local_weight.m_probability / local_weight.u_probability) / ln(2)
        + ln(domain_weight.m_probability / domain_weight.u_probability) / ln(2)
        + ln(activity_weight.m_probability / activity_weight.u_probability) / ln(2)
        + ln(device_weight.m_probability / device_weight.u_probability) / ln(2)
            as match_weight
    from leveled
    inner join weights as name_weight
        on
            name_weight.comparison = 'full_name'
            and leveled.full_name_level = name_weight.level
    inner join weights as local_weight
        on
            local_weight.comparison = 'email_local_part'
            and leveled.email_local_part_level = local_weight.level
    inner join weights as domain_weight
        on
            domain_weight.comparison = 'email_domain'
            and leveled.email_domain_level = domain_weight.level
    inner join weights as activity_weight
        on
            activity_weight.comparison = 'activity'
            and leveled.activity_level = activity_weight.level
    inner join weights as device_weight
        on
            device_weight.comparison = 'device'
            and leveled.device_level = device_weight.level

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
        probabilities.user_id_a,
        probabilities.user_id_b,
        probabilities.account_id,
        probabilities.full_name_a,
        probabilities.full_name_b,
        probabilities.email_a,
        probabilities.email_b,
        probabilities.comparable_since,
        probabilities.full_name_level,
        probabilities.email_local_part_level,
        probabilities.email_domain_level,
        probabilities.activity_level,
        probabilities.device_level,
        probabilities.match_weight,
        probabilities.match_probability,
        case
            when
                probabilities.match_probability >= {{ var('identity_merge_threshold') }}
                and probabilities.email_local_part_level
                not in ('numbered_variant', 'name_variant', 'same_mailbox')
                then 'merge'
            when probabilities.match_probability >= {{ var('identity_review_threshold') }}
                then 'review'
            else 'distinct'
        end as match_decision
    from probabilities

)

select * from final
