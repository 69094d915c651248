{#- The data day: the one "today" of a build, defined here and nowhere else. It is the UTC day
    of the newest receive time of a valid event (the last day the warehouse got data), or,
    in a replay, var as_of_date (staging then holds only what had arrived by the end of that
    day). Beside it, from the same events: the newest receive time, the newest event time
    (occurred_at), the end of the data in event time, after which windows of occurred-time
    metrics are not complete, and the oldest event time, the start of the data in event
    time, before which they are not complete either (an account the CRM created before the
    event history starts has no events for its first days, not no activity). Every model
    that needs "today" or "the end of the data" reads this one row; fct_data_day publishes
    it, lawn/data_day.py reads that.
    A feed with no valid event at all (every first delivery quarantined) still got data: its
    data day is then the UTC day of the newest receive time of a first delivery whose
    receive time is usable (not INVALID_RECEIVED_AT or RECEIVED_AT_OUT_OF_RANGE), and there
    is no end of the data in event time (data_end_at null): the marts are empty. -#}
{%- set replayed_day = as_of_date() %}
with

valid_events as (

    select
        received_at,
        occurred_at
    from {{ ref('int_events_valid') }}

),

judged_first_deliveries as (

    select received_at
    from {{ ref('int_events_validated') }}
    where
        delivery_status = 'quarantined'
        and received_at is not null
        and reason_codes not like '%INVALID_RECEIVED_AT%'
        and reason_codes not like '%RECEIVED_AT_OUT_OF_RANGE%'

),

newest_valid as (

    select
        max(received_at) as last_received_at,
        min(occurred_at) as data_start_at,
        max(occurred_at) as data_end_at
    from valid_events

),

newest_judged as (

    select max(received_at) as last_received_at
    from judged_first_deliveries

),

newest as (

    select
        coalesce(newest_valid.last_received_at, newest_judged.last_received_at)
            as last_received_at,
        newest_valid.data_start_at,
        newest_valid.data_end_at
    from newest_valid
    cross join newest_judged

),

final as (

    select
        {% if replayed_day is none -%}
            cast(newest.last_received_at as date) as data_day,
        {%- else -%}
            cast('{{ replayed_day }}' as date) as data_day,
        {%- endif %}
        newest.last_received_at,
        newest.data_end_at,
        cast(newest.data_end_at as date) as data_end_date,
        cast(newest.data_start_at as date) as data_start_date
    from newest

)

select * from final
