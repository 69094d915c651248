{{
    config(
        materialized=('table' if target.type == 'spark' else 'incremental'),
        incremental_strategy='append',
        on_schema_change='fail',
        pre_hook=[
            "{{ delete_lookback_window('received_at') }}",
            "{{ record_test_window('received_at') }}",
            "{{ rejudge_blocked_identifiers() }}",
        ]
    )
}}
{#- One row per identifier seen on a valid event: anonymous_id, device_id, user_id and the
    email of signed_up / identified events, every one in the normal form of
    normalize_identifier (no whitespace or invisible characters, lower case, no mailto: or
    wrapping brackets/quotes, no trailing dot). Values whose normal form is empty or on the
    blocklist (compared in the same normal form: 'null', 'N/A', 'nan', test ids) are
    flagged, never used to link.
    Incremental like int_events_validated (docs/incremental_identity.md): a run reads only the
    valid events received after what the table holds, once the pre-hooks have dropped the
    lookback window and re-judged the stored rows against the current blocklist. -#}
with

events as (

    select
        event_id,
        occurred_at,
        received_at,
        account_id,
        anonymous_id,
        device_id,
        user_id
    from {{ ref('int_events_valid') }}
    {% if is_incremental() %}
        where {{ incremental_window_predicate('received_at') }}
    {% endif %}

),

blocklist as (

    select
        identifier_type,
        {{ normalize_identifier('blocked_value') }} as blocked_value,
        min(reason) as reason
    from {{ ref('identity_blocklist') }}
    group by identifier_type, {{ normalize_identifier('blocked_value') }}

),

-- read from the table, not from `events`: DuckDB and PostgreSQL materialise a CTE read
-- more than once, and only these few rows need the payload
emails as (

    select
        event_id,
        occurred_at,
        received_at,
        account_id,
        {{ json_extract_scalar('properties', "'email'") }} as email
    from {{ ref('int_events_valid') }}
    where
        event_name in ('signed_up', 'identified')
        {% if is_incremental() %}
            and {{ incremental_window_predicate('received_at') }}
        {% endif %}

),

unpivoted as (

    select
        event_id,
        occurred_at,
        received_at,
        account_id,
        'anonymous_id' as identifier_type,
        anonymous_id as identifier_value
    from events
    where anonymous_id is not null
    union all
    select
        event_id,
        occurred_at,
        received_at,
        account_id,
        'device_id' as identifier_type,
        device_id as identifier_value
    from events
    where device_id is not null
    union all
    select
        event_id,
        occurred_at,
        received_at,
        account_id,
        'user_id' as identifier_type,
        user_id as identifier_value
    from events
    where user_id is not null
    union all
    select
        event_id,
        occurred_at,
        received_at,
        account_id,
        'email' as identifier_type,
        email as identifier_value
    from emails
    where email is not null

),

-- the normal form and the verdict once per distinct raw value (a few thousand), not
-- once per event: identifiers repeat across a person's events. Taken from `events`, not
-- from `unpivoted`, so that `unpivoted` is read once and streams instead of being
-- materialised (a CTE read twice is, on DuckDB and PostgreSQL)
raw_values as (

    select distinct
        'anonymous_id' as identifier_type,
        anonymous_id as raw_value
    from events
    where anonymous_id is not null
    union all
    select distinct
        'device_id' as identifier_type,
        device_id as raw_value
    from events
    where device_id is not null
    union all
    select distinct
        'user_id' as identifier_type,
        user_id as raw_value
    from events
    where user_id is not null
    union all
    select distinct
        'email' as identifier_type,
        email as raw_value
    from emails
    where email is not null

),

normalised as (

    select
        identifier_type,
        raw_value,
        {{ normalize_identifier('raw_value') }} as identifier_value
    from raw_values

),

judged as (

    select
        normalised.identifier_type,
        normalised.raw_value,
        normalised.identifier_value,
        coalesce(
            min(blocklist.reason),
            case when normalised.identifier_value = '' then 'empty once normalised' end
        ) as blocked_reason
    from normalised
    left join blocklist
        on
            normalised.identifier_value = blocklist.blocked_value
            and blocklist.identifier_type in ('*', normalised.identifier_type)
    group by
        normalised.identifier_type,
        normalised.raw_value,
        normalised.identifier_value

),

final as (

    select
        unpivoted.event_id,
        unpivoted.occurred_at,
        unpivoted.received_at,
        unpivoted.account_id,
        unpivoted.identifier_type,
        judged.identifier_value,
        unpivoted.identifier_type || ':' || judged.identifier_value as identifier_key,
        judged.blocked_reason,
        judged.blocked_reason is not null as is_blocked
    from unpivoted
    inner join judged
        on
            unpivoted.identifier_type = judged.identifier_type
            and unpivoted.identifier_value = judged.raw_value

)

select * from final
