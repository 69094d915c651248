{% macro delete_lookback_window(column) -%}
    {{ return(adapter.dispatch('delete_lookback_window', 'lawn')(column)) }}
{%- endmacro %}

{% macro default__delete_lookback_window(column) -%}
    {#- Pre-hook of the event models: on an incremental run, drop the rows received in the
        last `event_lookback_hours` of what the table holds, and rows with no parseable or
        an out-of-range time (is_received_at_out_of_range), so the run rebuilds them from
        the source with late loads included. Out-of-range times never set the watermark:
        one row stamped 9999 would otherwise stop every later run from reading anything.
        A replay (var as_of_date) must not run incrementally: the table may hold later rows. -#}
    {{- refuse_incremental_replay() -}}
    {%- if is_incremental() -%}
        delete from {{ this }}
        where
            {{ column }} is null
            or {{ is_received_at_out_of_range(column) }}
            or {{ column }} >= (
                select
                    {{ dbt.dateadd(
                        'hour',
                        -1 * var('event_lookback_hours') | int,
                        'max(case when not ' ~ is_received_at_out_of_range(column)
                        ~ ' then ' ~ column ~ ' end)'
                    ) }}
                from {{ this }}
            )
    {%- endif -%}
{%- endmacro %}

{#- Spark: Parquet tables cannot `delete`; the run overwrites the window's partitions instead
    (spark_event_partitions.sql). Only the replay guard is left. -#}
{% macro spark__delete_lookback_window(column) -%}
    {{- refuse_incremental_replay() -}}
{%- endmacro %}

{% macro incremental_window_predicate(column) -%}
    {{ return(adapter.dispatch('incremental_window_predicate', 'lawn')(column)) }}
{%- endmacro %}

{% macro default__incremental_window_predicate(column) -%}
    {#- Rows newer than what the table still holds after the pre-hook's delete, plus the rows
        the pre-hook always rebuilds (no parseable time, or out of range).
        The newest kept value is rendered as a literal (incremental_newest_kept, read when
        the model is compiled, i.e. before its pre-hooks run, computed as the delete will
        leave it): a comparison with a constant is pushed into the scan of a view or a
        table (zone maps), while a scalar subquery is a join evaluated above the view's
        projection, so every column of every source row (the staging view's md5, JSON
        checks and extraction) was computed before the filter
        (docs/incremental_staging.md). A unit test (its `this` is a fixture) and a parse
        keep the subquery form, which gives the same rows. -#}
    {%- set newest_kept = incremental_newest_kept(column) -%}
    {%- if newest_kept is not none -%}
        {#- The same rows, naming the column twice instead of four times (a view's column is
            recomputed per mention: the staging receive time is a regex parse of every raw
            row): the newest kept value is plausible, so a time after the latest allowed one
            is after it too; before received_at_earliest_date `not between` is true, and
            with nothing kept (1900-01-01 < earliest) it is true for every row. -#}
        {{ received_after_newest_kept(column, newest_kept) }}
    {%- else -%}
    (
        {{ column }} is null
        or {{ is_received_at_out_of_range(column) }}
        or {{ column }} > (
            select coalesce(
                max(case when not {{ is_received_at_out_of_range(column) }} then {{ column }} end),
                cast('1900-01-01' as {{ dbt.type_timestamp() }})
            )
            from {{ this }}
        )
    )
    {%- endif -%}
{%- endmacro %}

{% macro received_after_newest_kept(column, newest_kept) -%}
    {#- The window of an incremental run as a comparison with constants: `column` (a receive
        time, or the expression that parses one) is after `newest_kept`
        (incremental_newest_kept), or missing, or before received_at_earliest_date. -#}
    coalesce(
        {{ column }} not between
        cast('{{ var("received_at_earliest_date") }}' as {{ dbt.type_timestamp() }})
        and cast('{{ newest_kept }}' as {{ dbt.type_timestamp() }}),
        true
    )
{%- endmacro %}

{% macro incremental_newest_kept(column) -%}
    {#- The newest plausible `column` value {{ this }} will hold once delete_lookback_window
        has run ('1900-01-01 00:00:00' when it will hold none), as text; none outside an
        incremental run's execution or in a unit test. Must be read before the pre-hooks:
        dbt compiles a model (running this query) before its materialization runs them. -#}
    {%- if not execute or not is_incremental() or model.resource_type != 'model' -%}
        {%- do return(none) -%}
    {%- endif -%}
    {%- set plausible = 'case when not ' ~ is_received_at_out_of_range(column) ~ ' then '
        ~ column ~ ' end' -%}
    {%- set kept -%}
        select cast(coalesce(
            max({{ plausible }}), cast('1900-01-01' as {{ dbt.type_timestamp() }})
        ) as {{ dbt.type_string() }}) as newest_kept
        from {{ this }}
        where {{ column }} < (
            select {{ dbt.dateadd(
                'hour', -1 * var('event_lookback_hours') | int, 'max(' ~ plausible ~ ')'
            ) }}
            from {{ this }}
        )
    {%- endset -%}
    {%- do return(run_query(kept).columns[0].values()[0]) -%}
{%- endmacro %}

{#- Spark: the source rows of the partitions the run overwrites (from the window's first day
    on, spark_event_window_start), plus the rows always rebuilt. -#}
{% macro spark__incremental_window_predicate(column) -%}
    {%- set start = spark_event_window_start(column) -%}
    {%- if start is none -%}
        1 = 1
    {%- else -%}
        (
            {{ column }} is null
            or {{ is_received_at_out_of_range(column) }}
            or {{ column }} >= cast('{{ start }}' as {{ dbt.type_timestamp() }})
        )
    {%- endif -%}
{%- endmacro %}
