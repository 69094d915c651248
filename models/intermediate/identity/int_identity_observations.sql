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
{#- the run's window, rendered once: each rendering queries this table for its newest kept
    time (incremental_newest_kept) -#}
{%- set in_window = incremental_window_predicate('received_at') if is_incremental() else '' %}
{#- the identifier columns, unpivoted side by side and judged per distinct value -#}
{%- set identifier_names = ['anonymous_id', 'device_id', 'user_id'] %}
with

-- the names of the three identifier columns, to unpivot them by a cross join: every valid
-- event of the run's window is read once, and its rows come out side by side (a union of
-- three reads of a materialised CTE cost more, and its output, grouped by column, was
-- dearer to write: docs/full_build_cost.md)
identifier_columns as (

    select 'anonymous_id' as identifier_type
    union all
    select 'device_id' as identifier_type
    union all
    select 'user_id' as identifier_type

),

column_rows as (

    select
        events.event_id,
        events.occurred_at,
        events.received_at,
        events.account_id,
        identifier_columns.identifier_type,
        case identifier_columns.identifier_type
            when 'anonymous_id' then events.anonymous_id
            when 'device_id' then events.device_id
            else events.user_id
        end as identifier_value
    from {{ ref('int_events_valid') }} as events
    cross join identifier_columns
    {% if is_incremental() %}
        where {{ in_window }}
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

-- the few signed_up / identified rows with their payload's email (read twice, so
-- materialised by DuckDB and PostgreSQL: a few rows, not every event)
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
            and {{ in_window }}
        {% endif %}

),

unpivoted as (

    select
        event_id,
        occurred_at,
        received_at,
        account_id,
        identifier_type,
        identifier_value
    from column_rows
    where identifier_value is not null
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
-- once per event: identifiers repeat across a person's events. Each column's values come
-- from its own narrow scan of the table, so that `unpivoted` is read once and streams
-- (a CTE read twice is materialised, on DuckDB and PostgreSQL)
{%- for column in identifier_names %}
    {{ column }}_values as (

        select distinct {{ column }} as raw_value
        from {{ ref('int_events_valid') }}
        where
            {{ column }} is not null
            {% if is_incremental() %}
                and {{ in_window }}
            {% endif %}

    ),
{% endfor %}
raw_values as (

    {%- for column in identifier_names %}
        select
            '{{ column }}' as identifier_type,
            raw_value
        from {{ column }}_values
        union all
    {%- endfor %}
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
        normalised.identifier_type || ':' || normalised.identifier_value as identifier_key,
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
        judged.identifier_key,
        judged.blocked_reason,
        judged.blocked_reason is not null as is_blocked
    from unpivoted
    inner join judged
        on
            unpivoted.identifier_type = judged.identifier_type
            and unpivoted.identifier_value = judged.raw_value

)

select * from final
