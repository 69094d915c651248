{#- One row: every raw delivery accounted for. raw + purged from raw (kept in the event
    history) = valid + quarantined + duplicates + purged from the event history (kept in
    raw), with the cutoffs of the latest applied retention, and what the latest load
    withheld (erased persons, rows past the raw cutoff). Erased rows are gone from every
    layer: they are counted here, not in the equation. A delivery's age is
    delivery_aged_at (its receive time, else its occurrence time), as retention measures it. -#}
with

audit as (

    select * from {{ ref('stg_privacy__retention_audit') }}
    where not is_dry_run

),

cutoffs as (

    select
        max(case when relation_name = 'raw.raw_events' then cutoff_at end) as raw_cutoff_at,
        max(
            case
                when relation_name = 'intermediate.int_events_deduplicated' then cutoff_at
            end
        ) as history_cutoff_at
    from audit

),

raw_deliveries as (

    select count(*) as raw_count from {{ ref('stg_tracking__events') }}

),

{# The raw rows received before the event history's cutoff. Joined to the cutoff only when
    there is one: before any retention run of the history the join has no row to match, and
    the engine need not parse every raw receive time to count none (docs/test_cost.md). #}

history_cutoff as (

    select history_cutoff_at from cutoffs
    where history_cutoff_at is not null

),

raw_purged_from_history as (

    select count(*) as purged_from_history_count
    from {{ ref('stg_tracking__events') }} as raw_events
    inner join history_cutoff
        on
            {{ delivery_aged_at('raw_events.received_at', 'raw_events.occurred_at') }}
            < history_cutoff.history_cutoff_at

),

deliveries as (

    select
        {{ delivery_aged_at('received_at', 'occurred_at') }} as aged_at,
        is_redelivery
    from {{ ref('int_events_deduplicated') }}

),

valid as (

    select count(*) as row_count from {{ ref('fct_events') }}

),

quarantined as (

    select count(*) as row_count
    from {{ ref('fct_quarantined_events') }}
    cross join cutoffs
    where
        cutoffs.history_cutoff_at is null
        or {{ delivery_aged_at(
            'fct_quarantined_events.received_at', 'fct_quarantined_events.occurred_at'
        ) }} >= cutoffs.history_cutoff_at

),

raw_counts as (

    select
        raw_deliveries.raw_count,
        raw_purged_from_history.purged_from_history_count
    from raw_deliveries
    cross join raw_purged_from_history

),

delivery_counts as (

    select
        sum(case when deliveries.is_redelivery then 1 else 0 end) as duplicate_count,
        sum(
            case when deliveries.aged_at < cutoffs.raw_cutoff_at then 1 else 0 end
        ) as purged_from_raw_count
    from deliveries
    cross join cutoffs

),

latest_load as (

    select max(loaded_at) as loaded_at from {{ ref('stg_privacy__landing_exclusions') }}

),

withheld as (

    select
        sum(case when exclusions.reason = 'erased' then exclusions.rows_excluded else 0 end)
            as erased_at_landing_count,
        sum(case when exclusions.reason = 'erased' then exclusions.rows_redacted else 0 end)
            as redacted_at_landing_count,
        sum(case when exclusions.reason = 'retention' then exclusions.rows_excluded else 0 end)
            as retention_at_landing_count
    from {{ ref('stg_privacy__landing_exclusions') }} as exclusions
    inner join latest_load on exclusions.loaded_at = latest_load.loaded_at

),

erasures as (

    select
        count(*) as erasure_request_count,
        sum(rows_erased) as erased_row_count
    from {{ ref('stg_privacy__erasure_requests') }}

),

final as (

    select
        'events' as reconciliation_key,
        cast(raw_counts.raw_count as {{ dbt.type_bigint() }}) as raw_count,
        cast(coalesce(delivery_counts.purged_from_raw_count, 0) as {{ dbt.type_bigint() }})
            as purged_from_raw_count,
        cast(valid.row_count as {{ dbt.type_bigint() }}) as valid_count,
        cast(quarantined.row_count as {{ dbt.type_bigint() }}) as quarantined_count,
        cast(coalesce(delivery_counts.duplicate_count, 0) as {{ dbt.type_bigint() }})
            as duplicate_count,
        cast(coalesce(raw_counts.purged_from_history_count, 0) as {{ dbt.type_bigint() }})
            as purged_from_history_count,
        cutoffs.raw_cutoff_at,
        cutoffs.history_cutoff_at,
        cast(coalesce(withheld.erased_at_landing_count, 0) as {{ dbt.type_bigint() }})
            as erased_at_landing_count,
        cast(coalesce(withheld.redacted_at_landing_count, 0) as {{ dbt.type_bigint() }})
            as redacted_at_landing_count,
        cast(coalesce(withheld.retention_at_landing_count, 0) as {{ dbt.type_bigint() }})
            as retention_at_landing_count,
        cast(erasures.erasure_request_count as {{ dbt.type_bigint() }})
            as erasure_request_count,
        cast(coalesce(erasures.erased_row_count, 0) as {{ dbt.type_bigint() }})
            as erased_row_count,
        raw_counts.raw_count + coalesce(delivery_counts.purged_from_raw_count, 0)
        = valid.row_count + quarantined.row_count + coalesce(delivery_counts.duplicate_count, 0)
        + coalesce(raw_counts.purged_from_history_count, 0) as is_reconciled
    from raw_counts
    cross join delivery_counts
    cross join valid
    cross join quarantined
    cross join cutoffs
    cross join withheld
    cross join erasures

)

select * from final
