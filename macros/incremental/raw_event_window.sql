{% macro staged_received_at(column) -%}
    {#- The receive time staging gives a landing row: its text trimmed and read as ISO 8601
        in UTC (null when it names no time). stg_tracking__events and raw_event_window both
        render it, so the window selects the very rows whose staged time it describes. -#}
    {{ parse_iso_timestamp_utc('trim(' ~ column ~ ')', untrimmed=column) }}
{%- endmacro %}

{% macro raw_event_window(newest_kept) -%}
    {#- int_events_deduplicated's incremental window on DuckDB, as the landing rows it keeps:
        the raw_rowid of every row of raw_events whose staged receive time is in the window
        (received_after_newest_kept), decided on the landing table itself. The same filter
        on the staging view's received_at gives the same rows but cost twice the time at
        10M raw rows (8.3-9.3 s against 5.3-6.1 s for the model's whole select, identical
        rows: docs/incremental_staging.md, "Selecting the window on the landing table").
        Only where raw_rows_located: the locator is the rowid, the same within one statement
        for the subquery and the view. -#}
    raw_rowid in (
        select {{ raw_row_locator(source('tracking', 'raw_events')) }}
        from {{ source('tracking', 'raw_events') }}
        where {{ received_after_newest_kept(staged_received_at('received_at'), newest_kept) }}
    )
{%- endmacro %}
