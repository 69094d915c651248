{#- The first time each account and each person reached each moment of the metric_moments
    configuration (event name, optionally one property equal to a value, or numerically
    greater than it: `plan_changed` with `mrr_usd > 0` is a payment, a $0 trial is not).
    A table, not a view: about ten marts read it (directly or through
    int_activation_milestones), and as a view each of them rescanned every event with its
    identity joins and JSON (docs/incremental_identity.md).
    Incremental on DuckDB and PostgreSQL (a table on Spark): a run reads only the events
    int_events_attributed's change log added since this model's last run, and keeps for
    each moment they reach the earlier of them and the stored first. A moment whose entity
    lost an event of its kind (a move to another person, a row appended again with other
    content) is deleted by the pre-hook and recomputed from all that entity's events
    (docs/incremental_attribution.md, "The change log"). Without a usable log (first run,
    a full refresh of the events, an erasure or a retention run since, a gap of more than 30
    runs, another metric_moments configuration) it rebuilds in full. -#}
{%- set since = changes_since_consumed(moments_fingerprint()) if is_incremental() else none %}
{{ config(
    materialized=('table' if target.type == 'spark' else 'incremental'),
    incremental_strategy='delete+insert',
    unique_key='moment_reached_key',
    on_schema_change='fail',
    pre_hook=[
        "{{ delete_all_to_rebuild(moments_fingerprint()) }}",
        "{{ delete_moments_to_recompute() }}",
    ],
    post_hook="{{ save_consumed_changes(moments_fingerprint()) }}"
) }}
{#- the stored rows' locator (see `needed` below) -#}
{%- set locator = 'rowid' if target.type == 'duckdb' else 'event_id' %}
{%- set event_columns = (
    'attributed.event_id, attributed.event_name, attributed.occurred_at, attributed.received_at,'
    ~ ' attributed.person_id, attributed.account_id, attributed.platform, attributed.properties'
) %}
with

moments as (

    select * from {{ ref('metric_moments') }}

),

{% if since is none %}
    events as (

        select
            {{ event_columns }}
        from {{ ref('int_events_attributed') }} as attributed

    ),
{% else %}
    changes as (

        select
            changed.change_sign,
            changed.event_id,
            changed.event_name
        from {{ changed_rows(since) }} as changed

    ),

    added as (

        -- the events the log added, of the moments' kinds
        select changes.event_id from changes
        where
            changes.change_sign > 0
            and changes.event_name in (select moments.event_name from moments)

    ),

    recomputed as (

        -- moments whose entity lost an event of their kind: deleted by the pre-hook, computed
        -- again from all the entity's events
        {{ moments_to_recompute(since) }}

    ),

    recomputed_persons as (

        select distinct recomputed.entity_id from recomputed
        where recomputed.entity_type != 'account'

    ),

    recomputed_accounts as (

        select distinct recomputed.entity_id from recomputed
        where recomputed.entity_type = 'account'

    ),

    needed as (

        -- a narrow read first: the rows of the events the log added, and of every event of an
        -- entity with a moment to recompute. DuckDB locates them by rowid (the wide read below
        -- then fetches only them, about 0.3 s instead of 2 s at 10.2M events), other engines by
        -- event_id.
        select attributed.{{ locator }} as row_locator
        from {{ ref('int_events_attributed') }} as attributed
        where attributed.event_id in (select added.event_id from added)
        union
        select attributed.{{ locator }} as row_locator
        from {{ ref('int_events_attributed') }} as attributed
        inner join recomputed_persons
            on attributed.person_id = recomputed_persons.entity_id
        union
        select attributed.{{ locator }} as row_locator
        from {{ ref('int_events_attributed') }} as attributed
        inner join recomputed_accounts
            on attributed.account_id = recomputed_accounts.entity_id

    ),

    events as (

        select
            {{ event_columns }}
        from {{ ref('int_events_attributed') }} as attributed
        where attributed.{{ locator }} in (select needed.row_locator from needed)

    ),
{% endif %}

matched as (

    select
        moments.moment_name,
        moments.entity_type,
        case
            when moments.entity_type = 'account' then events.account_id
            else events.person_id
        end as entity_id,
        events.account_id,
        events.event_id,
        events.occurred_at,
        events.received_at,
        events.platform
    from events
    inner join moments
        on
            events.event_name = moments.event_name
            and (
                moments.property_name is null
                or (
                    coalesce(moments.property_operator, '=') = '='
                    and {{ json_extract_scalar('events.properties', 'moments.property_name') }}
                    = moments.property_value
                )
                or (
                    moments.property_operator = '>'
                    and {{ try_cast(
                        json_extract_scalar('events.properties', 'moments.property_name'),
                        type_double()
                    ) }}
                    > {{ try_cast('moments.property_value', type_double()) }}
                )
            )

),

{% if since is not none %}
    reached as (

        -- the moments the new events reach
        select distinct
            matched.entity_type,
            matched.entity_id,
            matched.moment_name
        from matched

    ),

    stored_firsts as (

        -- the stored first of each of them (the earliest receipt as its receive time): the
        -- earlier of it and the new events is the first
        select
            kept.moment_name,
            kept.entity_type,
            kept.entity_id,
            kept.account_id,
            kept.reached_event_id as event_id,
            kept.reached_at as occurred_at,
            kept.first_received_at as received_at,
            kept.reached_platform as platform
        from {{ this }} as kept
        inner join reached
            on
                kept.entity_type = reached.entity_type
                and kept.entity_id = reached.entity_id
                and kept.moment_name = reached.moment_name
        where kept.moment_reached_key not in (select recomputed.moment_reached_key from recomputed)

    ),
{% endif %}

candidates as (

    select * from matched
    {% if since is not none -%}
        union all
        select * from stored_firsts
    {%- endif %}

),

ranked as (

    select
        candidates.*,
        row_number() over (
            partition by candidates.entity_type, candidates.entity_id, candidates.moment_name
            order by candidates.occurred_at, candidates.event_id
        ) as reach_number,
        min(candidates.received_at) over (
            partition by candidates.entity_type, candidates.entity_id, candidates.moment_name
        ) as first_received_at
    from candidates
    where candidates.entity_id is not null

),

final as (

    select
        entity_type || ':' || entity_id || ':' || moment_name as moment_reached_key,
        entity_type,
        entity_id,
        moment_name,
        account_id,
        occurred_at as reached_at,
        cast(occurred_at as date) as reached_date,
        platform as reached_platform,
        event_id as reached_event_id,
        first_received_at
    from ranked
    where reach_number = 1

)

select * from final
