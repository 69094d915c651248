{{ config(severity='warn') }}
-- Reviewer decisions (seeds/identity/identity_review_decisions.csv) naming a user id the
-- identity graph does not know (in its normal form): such a decision matches no pair and
-- changes nothing. A warning, so a typo'd id (or an id copied from the masked public queue,
-- whose email-shaped ids are keyed hashes) is told instead of silently ignored; an id
-- erased since the decision is reported too.
with

decisions as (

    select
        user_id_a,
        user_id_b,
        decided_at
    from {{ ref('int_identity_review_decisions') }}

),

known_users as (

    select user_id from {{ ref('int_identity_user_profiles') }}

),

final as (

    select
        decisions.user_id_a,
        decisions.user_id_b,
        decisions.decided_at
    from decisions
    left join known_users as known_a on decisions.user_id_a = known_a.user_id
    left join known_users as known_b on decisions.user_id_b = known_b.user_id
    where known_a.user_id is null or known_b.user_id is null

)

select * from final
