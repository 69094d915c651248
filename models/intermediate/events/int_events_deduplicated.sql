{{
    config(
        materialized='incremental',
        incremental_strategy=('insert_overwrite' if target.type == 'spark' else 'append'),
        partition_by=(['received_date'] if target.type == 'spark' else none),
        file_format='parquet',
        on_schema_change='fail',
        pre_hook=[
            "{{ delete_lookback_window('received_at') }}",
            "{{ record_test_window('received_at') }}",
        ]
    )
}}
{#- Every raw delivery, numbered within its event: delivery 1 is the first received, later
    ones are redeliveries. A delivery whose receive time is missing or out of range
    (is_received_at_out_of_range: a broken clock) comes after every plausible one, so a
    row stamped 0001 cannot claim to be first. Rows without an event_id are keyed by their full-row hash, so
    byte-identical copies count as redeliveries too. Incremental: earlier deliveries already
    in the table are counted (for the keys this run reads) so numbering matches a full refresh.
    A full refresh on DuckDB numbers only the keys delivered more than once with the window,
    on narrow rows, and gives every other delivery number 1 (delivery_counts below). -#}
{#- Deliveries the event history's retention already purged (older than its latest applied
    cutoff, by delivery_aged_at) are not read again from raw landing, which keeps them longer:
    not on a full refresh, nor as the undated rows every incremental run re-reads. -#}
{%- set history_cutoff = applied_retention_cutoff('intermediate.int_events_deduplicated') %}
{%- set read_only = [] %}
{%- if is_incremental() %}
    {#- DuckDB selects the window's landing rows on the landing table (raw_event_window); a
        unit test, a parse and the other engines filter the view's receive time -#}
    {%- set newest_kept = incremental_newest_kept('received_at')
        if raw_rows_located(ref('stg_tracking__events')) else none %}
    {%- if newest_kept is not none %}
        {%- do read_only.append(raw_event_window(newest_kept)) %}
    {%- else %}
        {%- do read_only.append(incremental_window_predicate('received_at')) %}
    {%- endif %}
{%- endif %}
{%- if history_cutoff is not none %}
    {%- do read_only.append(delivered_since(history_cutoff)) %}
{%- endif %}
{#- DuckDB's full refresh ranks only the repeated deliveries (delivery_counts below) when
    stg_tracking__events locates the landing rows; an incremental run's batch is small, and
    the other engines have no row locator -#}
{%- set narrow_ranks = not is_incremental() and raw_rows_located(ref('stg_tracking__events')) %}
{#- a delivery's key: its event_id, else a prefix and its row hash -#}
{%- set keyless_prefix = 'no-event-id:' %}
{%- set dedup_key = "coalesce(event_id, '" ~ keyless_prefix ~ "' || raw_row_hash)" %}
{#- the order of a key's deliveries: plausible receive times first, then by receive time,
    then by row hash (byte-identical copies tie, and any order of them gives the same rows) -#}
{%- set delivery_order = {} %}
{%- for alias in ['keyed', 'repeated'] %}
    {%- do delivery_order.update({alias:
        'case when not ' ~ is_received_at_out_of_range(alias ~ '.received_at') ~ ' then 0 else 1 end, '
        ~ alias ~ '.received_at nulls last, ' ~ alias ~ '.raw_row_hash'
    }) %}
{%- endfor %}
with

events as (

    select * from {{ ref('stg_tracking__events') }}
    {% if read_only %}
        where {{ read_only | join(' and ') }}
    {% endif %}

),

keyed as (

    select
        events.*,
        {{ dedup_key }} as dedup_key
    from events

),

earlier_deliveries as (

    {% if is_incremental() %}
        select
            dedup_key,
            count(*) as earlier_delivery_count
        -- the rows the run keeps (Spark: the partitions before the window)
        from (select * from {{ this }}{{ event_kept_rows_filter('received_at') }}) as kept
        -- only the keys this run numbers, not a group-by over all history
        where dedup_key in (select keyed.dedup_key from keyed)
        group by dedup_key
    {% else %}
        select
            cast(null as {{ dbt.type_string() }}) as dedup_key,
            cast(0 as {{ dbt.type_bigint() }}) as earlier_delivery_count
        where 1 = 0
    {% endif %}

),

{% if narrow_ranks -%}
-- DuckDB, full refresh: a delivery is ranked among the batch's deliveries of its key, so
-- only keys delivered more than once need the window. Counting by event_id reads one column;
-- the rows without one (their key is the row hash) and those whose event_id could equal such
-- a key go with the repeated ones, so every key's deliveries are ranked together as in the
-- window below. The ranks come back to the wide rows by raw_rowid (docs/full_build_cost.md,
-- "Numbering only the repeated deliveries"): a window carrying every payload column cost
-- more than the rest of the model's query.
delivery_counts as (

    select
        raw_rowid,
        event_id,
        count(*) over (partition by event_id) as deliveries_of_event_id
    from {{ ref('stg_tracking__events') }}
    {% if read_only %}
        where {{ read_only | join(' and ') }}
    {% endif %}

),

repeated_ranks as (

    select
        repeated.raw_rowid,
        row_number() over (
            partition by repeated.dedup_key
            order by {{ delivery_order['repeated'] }}
        ) as rank_in_batch
    from (
        select
            raw_rowid,
            {{ dedup_key }} as dedup_key,
            received_at,
            raw_row_hash
        from {{ ref('stg_tracking__events') }}
        where
            raw_rowid in (
                select delivery_counts.raw_rowid
                from delivery_counts
                where
                    delivery_counts.event_id is null
                    or delivery_counts.event_id like '{{ keyless_prefix }}%'
                    or delivery_counts.deliveries_of_event_id > 1
            )
            {% if read_only %}
                and {{ read_only | join(' and ') }}
            {% endif %}
    ) as repeated

),

{% endif -%}
ranked as (

    select
        keyed.*,
        {% if narrow_ranks -%}
            coalesce(repeated_ranks.rank_in_batch, 1) as rank_in_batch
        {%- else -%}
            row_number() over (
                partition by keyed.dedup_key
                order by {{ delivery_order['keyed'] }}
            ) as rank_in_batch
        {%- endif %}
    from keyed
    {% if narrow_ranks -%}
        left join repeated_ranks on keyed.raw_rowid = repeated_ranks.raw_rowid
    {%- endif %}

),

numbered as (

    select
        ranked.*,
        ranked.rank_in_batch
        + coalesce(earlier_deliveries.earlier_delivery_count, 0) as delivery_number
    from ranked
    left join earlier_deliveries
        on ranked.dedup_key = earlier_deliveries.dedup_key

),

final as (

    select
        dedup_key || '#' || cast(delivery_number as {{ dbt.type_string() }})
            as raw_event_key,
        dedup_key,
        delivery_number,
        delivery_number > 1 as is_redelivery,
        event_id,
        event_name,
        schema_version_raw,
        schema_version,
        source,
        occurred_at_raw,
        received_at_raw,
        occurred_at,
        received_at,
        anonymous_id,
        device_id,
        user_id,
        account_id,
        context_raw,
        properties_raw,
        is_context_valid_json,
        is_properties_valid_json,
        context_platform,
        context_app_version,
        context_locale,
        context_latency_ms,
        context_error_code,
        context_ip,
        raw_row_hash
    {{- event_partition_column('received_at') }}
    from numbered

)

select * from final
