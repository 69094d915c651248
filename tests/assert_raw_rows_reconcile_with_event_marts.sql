-- raw + purged from raw = valid + quarantined + duplicates + purged from the event history,
-- exactly: counts every raw row once, from the source itself, against the two public marts
-- and the redeliveries. Retention (lawn/retention.py) may keep raw landing and the event
-- history for different times: rows one layer purged while the other still holds them are
-- counted from the latest applied cutoffs in ops.retention_audit (both terms are 0 before
-- any retention run). Erased rows are gone from every layer and need no term. A delivery's
-- age is delivery_aged_at (receive time, else occurrence time), as retention measures it.
-- In a replay (var as_of_date) the raw rows are those that had arrived by the end of the day.
with

cutoffs as (

    select
        max(case when relation_name = 'raw.raw_events' then cutoff_at end) as raw_cutoff_at,
        max(
            case
                when relation_name = 'intermediate.int_events_deduplicated' then cutoff_at
            end
        ) as history_cutoff_at
    from {{ source('privacy', 'retention_audit') }}
    where not is_dry_run

),

raw_rows as (

    {%- set received = parse_iso_timestamp_utc('trim(received_at)', untrimmed='received_at') %}
    select count(*) as row_count from {{ source('tracking', 'raw_events') }}
    where {{ is_known_as_of(received) }}

),

{#- Before any retention run of the event history (no cutoff) no raw row can be purged
    from it: the count is 0 without parsing every raw receive time (docs/incremental_staging.md). -#}
{%- set history_cutoffs = 1 -%}
{%- if execute -%}
    {%- set cutoff_query -%}
        select count(*) from {{ source('privacy', 'retention_audit') }}
        where
            not is_dry_run
            and relation_name = 'intermediate.int_events_deduplicated'
            and cutoff_at is not null
    {%- endset -%}
    {%- set history_cutoffs = run_query(cutoff_query).columns[0].values()[0] -%}
{%- endif %}

raw_purged_from_history as (

    {% if history_cutoffs == 0 -%}
        select cast(0 as {{ dbt.type_bigint() }}) as row_count
    {%- else -%}
        select count(*) as row_count
        from {{ ref('stg_tracking__events') }}
        cross join cutoffs
        where
            {{ delivery_aged_at(
                'stg_tracking__events.received_at', 'stg_tracking__events.occurred_at'
            ) }} < cutoffs.history_cutoff_at
    {%- endif %}

),

valid_rows as (

    select count(*) as row_count from {{ ref('fct_events') }}

),

quarantined_rows as (

    select count(*) as row_count
    from {{ ref('fct_quarantined_events') }}
    cross join cutoffs
    where
        cutoffs.history_cutoff_at is null
        or {{ delivery_aged_at(
            'fct_quarantined_events.received_at', 'fct_quarantined_events.occurred_at'
        ) }} >= cutoffs.history_cutoff_at

),

duplicate_rows as (

    select count(*) as row_count
    from {{ ref('int_events_deduplicated') }}
    where is_redelivery

),

history_purged_from_raw as (

    select count(*) as row_count
    from {{ ref('int_events_deduplicated') }}
    cross join cutoffs
    where
        {{ delivery_aged_at(
            'int_events_deduplicated.received_at', 'int_events_deduplicated.occurred_at'
        ) }} < cutoffs.raw_cutoff_at

)

select
    raw_rows.row_count as raw_count,
    history_purged_from_raw.row_count as purged_from_raw_count,
    valid_rows.row_count as valid_count,
    quarantined_rows.row_count as quarantined_count,
    duplicate_rows.row_count as duplicate_count,
    raw_purged_from_history.row_count as purged_from_history_count
from raw_rows
cross join raw_purged_from_history
cross join valid_rows
cross join quarantined_rows
cross join duplicate_rows
cross join history_purged_from_raw
where
    raw_rows.row_count + history_purged_from_raw.row_count
    != valid_rows.row_count + quarantined_rows.row_count + duplicate_rows.row_count
    + raw_purged_from_history.row_count
