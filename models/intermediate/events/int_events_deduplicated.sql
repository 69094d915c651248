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
    in the table are counted (for the keys this run reads) so numbering matches a full refresh. -#}
{#- Deliveries the event history's retention already purged (older than its latest applied
    cutoff, by delivery_aged_at) are not read again from raw landing, which keeps them longer:
    not on a full refresh, nor as the undated rows every incremental run re-reads. -#}
{%- set history_cutoff = applied_retention_cutoff('intermediate.int_events_deduplicated') %}
{%- set read_only = [] %}
{%- if is_incremental() %}
    {%- do read_only.append(incremental_window_predicate('received_at')) %}
{%- endif %}
{%- if history_cutoff is not none %}
    {%- do read_only.append(delivered_since(history_cutoff)) %}
{%- endif %}
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
        coalesce(events.event_id, 'no-event-id:' || events.raw_row_hash) as dedup_key
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

ranked as (

    select
        keyed.*,
        row_number() over (
            partition by keyed.dedup_key
            order by
                case
                    when not {{ is_received_at_out_of_range('keyed.received_at') }} then 0
                    else 1
                end,
                keyed.received_at nulls last,
                keyed.raw_row_hash
        ) as rank_in_batch
    from keyed

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
