{{
    config(
        materialized=('table' if target.type == 'spark' else 'incremental'),
        incremental_strategy='append',
        on_schema_change='fail',
        pre_hook=[
            "{{ delete_identity_link_days_window() }}",
            "{{ record_test_window('last_received_at') }}",
        ]
    )
}}
{#- The partial counts behind int_identity_links: one row per pair of identifiers seen
    together on one valid event (left key < right key) and receive day of those events,
    with the first time and the number of events. Blocked identifiers are counted too:
    the blocklist can change (int_identity_observations re-judges its rows), so the links
    drop the blocked keys when they add the days up, as a full refresh would.
    Incremental (docs/incremental_identity_links.md): a run recounts only the receive days
    of the lookback window (and the oldest day, which retention may have cut), from the
    observations of those days: pairing each event's identifiers, the expensive part of the
    links, then costs the new day instead of all history. -#}
{%- set window = identity_link_days_window() %}
with

observations as (

    select
        event_id,
        occurred_at,
        received_at,
        identifier_type,
        identifier_key
    from {{ ref('int_identity_observations') }}
    {% if window is not none %}
        where
            received_at is null
            or received_at >= cast('{{ window.start }}' as {{ dbt.type_timestamp() }})
            or received_at < cast('{{ window.oldest_next }}' as {{ dbt.type_timestamp() }})
    {% endif %}

),

-- one row per event with its (at most four) identifier keys side by side: an event has at
-- most one observation per identifier type (the observations' compound key), and every
-- observation of an event carries the event's times. An aggregate of the observations
-- costs about a third less than their self-join on event_id, which built and probed a hash
-- table of every observation (10.2M events: 13.8-14.0 s against 20.9-25.5 s alone,
-- docs/full_build_cost.md)
events as (

    select
        event_id,
        min(occurred_at) as occurred_at,
        min(received_at) as received_at,
        {%- for identifier_type in ['anonymous_id', 'device_id', 'user_id', 'email'] %}
            max(case when identifier_type = '{{ identifier_type }}' then identifier_key end)
                as {{ identifier_type }}_key{% if not loop.last %},{% endif %}
        {%- endfor %}
    from observations
    group by event_id

),

-- the six pairs of the four identifier types
type_pairs as (

    {%- for pair_number in range(1, 7) %}
        select {{ pair_number }} as pair_number
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}

),

event_pairs as (

    select
        events.occurred_at,
        events.received_at,
        case type_pairs.pair_number
            when 1 then events.anonymous_id_key
            when 2 then events.anonymous_id_key
            when 3 then events.anonymous_id_key
            when 4 then events.device_id_key
            when 5 then events.device_id_key
            else events.user_id_key
        end as first_key,
        case type_pairs.pair_number
            when 1 then events.device_id_key
            when 2 then events.user_id_key
            when 3 then events.email_key
            when 4 then events.user_id_key
            when 5 then events.email_key
            else events.email_key
        end as second_key
    from events
    cross join type_pairs

),

-- both keys present, the smaller on the left (two keys of one event always differ: each
-- starts with its own type)
pairs as (

    select
        case when first_key < second_key then first_key else second_key end as left_key,
        case when first_key < second_key then second_key else first_key end as right_key,
        occurred_at,
        received_at
    from event_pairs
    where first_key is not null and second_key is not null

),

final as (

    select
        left_key,
        right_key,
        cast(received_at as date) as received_date,
        min(occurred_at) as first_seen_at,
        count(*) as event_count,
        max(received_at) as last_received_at
    from pairs
    group by left_key, right_key, cast(received_at as date)

)

select * from final
