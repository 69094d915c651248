-- raw = valid + quarantined + duplicates, exactly: counts every raw row once, from the
-- source itself, against the two public marts and the redeliveries. In a replay (var
-- as_of_date) the raw rows are those that had arrived by the end of the day.
with

raw_rows as (

    select count(*) as row_count from {{ source('tracking', 'raw_events') }}
    where {{ is_known_as_of(parse_iso_timestamp_utc('trim(received_at)')) }}

),

valid_rows as (

    select count(*) as row_count from {{ ref('fct_events') }}

),

quarantined_rows as (

    select count(*) as row_count from {{ ref('fct_quarantined_events') }}

),

duplicate_rows as (

    select count(*) as row_count
    from {{ ref('int_events_deduplicated') }}
    where is_redelivery

)

select
    raw_rows.row_count as raw_count,
    valid_rows.row_count as valid_count,
    quarantined_rows.row_count as quarantined_count,
    duplicate_rows.row_count as duplicate_count
from raw_rows
cross join valid_rows
cross join quarantined_rows
cross join duplicate_rows
where
    raw_rows.row_count
    != valid_rows.row_count + quarantined_rows.row_count + duplicate_rows.row_count
