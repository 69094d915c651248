{#- RESTRICTED (direct PII): names and email local parts in clear text. One row per usable
    user_id with an email: what `lawn identity-weights` compares pairwise to re-estimate the
    matcher's m/u probabilities, with the matcher's own inputs (int_identity_user_profiles,
    the user_id's active days and the devices it was seen on). Names and email local parts
    stay in clear because the matcher's levels need more than equality (edit distance,
    trailing digits, initials, separators); everything compared by equality only is keyed
    (email domain, device keys: HMAC-SHA256 under the identity hash key). Lists are
    `|`-separated text (no arrays in marts). -#}
{#- On demand: only `lawn identity-weights` reads it, so the nightly and `dbt build` leave it
    out (tag on_demand, the default selector of selectors.yml) and that command builds and
    tests it first (lawn/identity_weights.py). A view: no copy of the clear-text names is
    stored, and it always shows the current identity tables (docs/performance.md, "An
    on-demand comparison mart"). -#}
{{ config(materialized='view', tags=['on_demand']) }}
with

profiles as (

    select * from {{ ref('int_identity_user_profiles') }}
    where email is not null

),

observations as (

    select * from {{ ref('int_identity_observations') }}
    where identifier_type = 'user_id' and not is_blocked

),

links as (

    select * from {{ ref('int_identity_links') }}
    where left_type in ('anonymous_id', 'device_id') and right_type = 'user_id'

),

namesakes as (

    select
        account_id,
        full_name,
        count(*) as namesake_count
    from profiles
    where full_name is not null
    group by account_id, full_name

),

-- the distinct days first, then their text: one cast per (user_id, day), not per event
-- (a date's text is YYYY-MM-DD, so the lists sort the same by either)
active_dates as (

    select distinct
        identifier_value as user_id,
        cast(occurred_at as date) as active_day
    from observations

),

active_days as (

    select
        user_id,
        cast(active_day as {{ dbt.type_string() }}) as active_date
    from active_dates

),

active_lists as (

    select
        user_id,
        {{ ordered_text_list('active_date', "'|'") }} as active_dates
    from active_days
    group by user_id

),

linked_devices as (

    select distinct
        right_value as user_id,
        left_key
    from links

),

-- as int_identity_user_overlaps: a browser or device more than
-- `identity_max_users_per_shared_device` user_ids used is no evidence, so it is not listed
devices as (

    {{ evidence_devices('linked_devices', 'left_key', 'user_id') }}

),

device_keys as (

    select
        user_id,
        {{ keyed_hash('left_key') }} as device_key
    from devices

),

device_lists as (

    select
        user_id,
        {{ ordered_text_list('device_key', "'|'") }} as device_keys
    from device_keys
    group by user_id

),

final as (

    select
        profiles.user_id,
        profiles.account_id,
        profiles.deterministic_component,
        profiles.first_seen_at,
        profiles.first_name,
        profiles.last_name,
        profiles.full_name,
        coalesce(namesakes.namesake_count, 0) as namesake_count,
        profiles.email_local_part,
        case
            when profiles.email_domain is not null then {{ keyed_hash('profiles.email_domain') }}
        end as email_domain_key,
        active_lists.active_dates,
        device_lists.device_keys
    from profiles
    left join namesakes
        on
            profiles.account_id = namesakes.account_id
            and profiles.full_name = namesakes.full_name
    left join active_lists on profiles.user_id = active_lists.user_id
    left join device_lists on profiles.user_id = device_lists.user_id

)

select * from final
