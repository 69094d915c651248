{#- One row per person (identified or still anonymous): when first seen and signed up, how
    many identifiers of each type converge on them, their account and its current plan,
    activation (created an invoice), and hashes safe to share (email_key: the email itself
    is in pii.pii_users). An email-shaped primary_user_id is shown as its keyed hash
    (masked_identifier, as in fct_events); pii.pii_users has it in clear. -#}
with

identity_map as (

    select * from {{ ref('int_identity_map') }}
    where person_id is not null

),

user_persons as (

    select * from {{ ref('int_identity_user_persons') }}

),

profiles as (

    select * from {{ ref('int_identity_user_profiles') }}

),

milestones as (

    -- signed up, activated (created an invoice) and last seen, from the attributed events
    -- as fct_events shows them (int_person_event_extents: incremental, not every event
    -- grouped again on every run)
    select * from {{ ref('int_person_event_extents') }}

),

plans as (

    select * from {{ ref('int_account_plan_changes') }}
    where recency_rank = 1

),

identifier_counts as (

    select
        person_id,
        min(first_seen_at) as first_seen_at,
        count(case when identifier_type = 'user_id' then 1 end) as user_id_count,
        count(case when identifier_type = 'anonymous_id' then 1 end) as anonymous_id_count,
        count(case when identifier_type = 'device_id' then 1 end) as device_id_count,
        count(case when identifier_type = 'email' then 1 end) as email_count
    from identity_map
    group by person_id

),

observed_emails as (

    {#- a person who signed up with an email but never sent identify traits still has one:
        the email identifier the person was first seen with most recently -#}
    select
        person_id,
        identifier_value as email,
        row_number() over (
            partition by person_id order by first_seen_at desc, identifier_value asc
        ) as recency
    from identity_map
    where identifier_type = 'email'

),

founders as (

    select distinct
        person_id,
        founding_user_id
    from user_persons

),

final as (

    select
        identifier_counts.person_id,
        {{ keyed_hash('identifier_counts.person_id') }} as person_key,
        {{ masked_identifier('founders.founding_user_id') }} as primary_user_id,
        identifier_counts.user_id_count > 0 as is_identified,
        profiles.account_id,
        identifier_counts.first_seen_at,
        milestones.signed_up_at,
        milestones.last_seen_at,
        identifier_counts.user_id_count,
        identifier_counts.anonymous_id_count,
        identifier_counts.device_id_count,
        identifier_counts.email_count,
        -- as dim_accounts.plan says it: `none` for an account that never paid (a probe found
        -- null here and `none` there for one account); null without an account
        case when profiles.account_id is not null then coalesce(plans.to_plan, 'none') end
            as account_plan,
        milestones.activated_at,
        -- signed_up only with a signup (a probe found `signed_up` beside a null signed_up_at
        -- for a user who only logged in): a user id without one is `identified`
        case
            when milestones.activated_at is not null then 'activated'
            when milestones.signed_up_at is not null then 'signed_up'
            when identifier_counts.user_id_count > 0 then 'identified'
            else 'anonymous'
        end as activation_state,
        {{ keyed_hash('coalesce(profiles.email, observed_emails.email)') }} as email_key
    from identifier_counts
    left join founders on identifier_counts.person_id = founders.person_id
    left join profiles on founders.founding_user_id = profiles.user_id
    left join observed_emails
        on identifier_counts.person_id = observed_emails.person_id and observed_emails.recency = 1
    left join milestones on identifier_counts.person_id = milestones.person_id
    left join plans on profiles.account_id = plans.account_id

)

select * from final
