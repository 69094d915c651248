{#- The change log of int_events_attributed (docs/incremental_attribution.md, "The change
    log"): the rows each run of the model really changed, with a sign, so that models built
    from it (int_activity_days, int_moments_reached) apply them as deltas instead of
    recomputing history.

    A table next to the model, `int_events_attributed__changes`, of (change_run, run_kind,
    change_sign, event_id, event_name, person_id, account_id, occurred_date):
    - change_run: the run's start (dbt's run_started_at) in microseconds since 1970, so runs
      order by time even across a dropped and recreated log;
    - one marker row per run (run_kind 'incremental' | 'full', change_sign 0);
    - a row with change_sign -1 for every stored row the run removed and +1 for every row it
      added, netted: the lookback window's rows before the delete against the rows appended
      (EXCEPT ALL both ways, so a row deleted and appended again identically is no change;
      its other columns are compared through attribution_content_hash),
      and both sides of every row the re-attribution moved.
    A full refresh, and an incremental run that finds no log (after `lawn privacy erase` or
    `lawn retention apply`, which drop it because they delete rows outside dbt), write a
    'full' run: every consumer then rebuilds in full. Only the last 30 runs are kept; a
    consumer whose last run is older rebuilds in full. DuckDB and PostgreSQL (Spark builds
    the event models and their consumers as tables). -#}

{% macro side_table_relation(suffix, base=none) -%}
    {#- The table `<base>__<suffix>` next to `base` (default: the model being built), where a
        model keeps its own bookkeeping (states, logs, records). -#}
    {%- set owner = base if base is not none else this -%}
    {%- do return(api.Relation.create(
        database=owner.database, schema=owner.schema, identifier=owner.identifier ~ '__' ~ suffix
    )) -%}
{%- endmacro %}

{% macro attribution_changes_relation(attributed=none) -%}
    {%- do return(side_table_relation('changes', attributed)) -%}
{%- endmacro %}

{% macro attribution_window_before_relation() -%}
    {%- do return(side_table_relation('window_before')) -%}
{%- endmacro %}

{% macro attribution_change_run() -%}
    {#- This dbt invocation's run number in the log (see above), as a literal. -#}
    {{- (run_started_at.timestamp() * 1000000) | int -}}
{%- endmacro %}

{% macro attribution_change_columns(alias) -%}
    {#- The columns of a stored row the log keeps (what its consumers read). -#}
    {{ alias }}.event_id, {{ alias }}.event_name, {{ alias }}.person_id, {{ alias }}.account_id,
    {{ alias }}.occurred_date
{%- endmacro %}

{% macro attribution_content_hash(alias) -%}
    {#- A hash of a stored row's other columns (times, payload, platform...): the netting
        compares it too, so a row of the window appended again with other content (another
        first delivery of the event won the dedup) is logged out and in, although the log
        keeps only the columns above. A consumer that reads more than those (int_moments_reached)
        recomputes what such a row touched. -#}
    {%- set logged = ['event_id', 'event_name', 'person_id', 'account_id', 'occurred_date'] -%}
    {%- set others = [] -%}
    {%- for column in adapter.get_columns_in_relation(this) -%}
        {%- if column.name | lower not in logged -%}
            {%- do others.append(alias ~ '.' ~ adapter.quote(column.name)) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ change_hash(others) }}
{%- endmacro %}

{% macro log_attribution_changes(step) -%}
    {#- Hooks of int_events_attributed. 'before' (a pre-hook, before the lookback delete):
        creates the log if it is missing, writes this run's marker and keeps the stored rows
        the lookback delete is about to remove. 'after' (a post-hook): logs those rows
        against the rows this run appended, netted; on a full refresh, a new log with a 'full'
        run. The moved rows of the re-attribution are logged by apply_reattribution. -#}
    {%- if target.type == 'spark' or not execute -%}
        {%- do return('') -%}
    {%- endif -%}
    {%- set changes = attribution_changes_relation() -%}
    {%- set before = attribution_window_before_relation() -%}
    {%- set run = attribution_change_run() -%}
    {%- if step == 'before' -%}
        {%- if is_incremental() -%}
            {%- set existing = table_exists_now(changes) -%}
            {%- if not existing -%}
                {{ create_attribution_changes(changes) }};
            {%- endif %}
            insert into {{ changes }} (change_run, run_kind, change_sign)
            values ({{ run }}, '{{ "incremental" if existing else "full" }}', 0);
            drop table if exists {{ before }};
            create table {{ before }} as
            select
                {{ attribution_change_columns('windowed') }},
                {{ attribution_content_hash('windowed') }} as content_hash
            from {{ this }} as windowed
            where {{ attribution_window() }}
        {%- endif -%}
    {%- elif is_incremental() -%}
        {#- rendered once: each rendering reads the model's columns from the warehouse -#}
        {%- set windowed_hash = attribution_content_hash('windowed') -%}
        insert into {{ changes }}
            (change_run, change_sign, event_id, event_name, person_id, account_id, occurred_date)
        select {{ run }}, -1, {{ attribution_change_columns('gone') }}
        from (
            select {{ attribution_change_columns('kept') }}, kept.content_hash
            from {{ before }} as kept
            except all
            select
                {{ attribution_change_columns('windowed') }},
                {{ windowed_hash }} as content_hash
            from {{ this }} as windowed
            where {{ attribution_window() }}
        ) as gone;
        insert into {{ changes }}
            (change_run, change_sign, event_id, event_name, person_id, account_id, occurred_date)
        select {{ run }}, 1, {{ attribution_change_columns('added') }}
        from (
            select
                {{ attribution_change_columns('windowed') }},
                {{ windowed_hash }} as content_hash
            from {{ this }} as windowed
            where {{ attribution_window() }}
            except all
            select {{ attribution_change_columns('kept') }}, kept.content_hash
            from {{ before }} as kept
        ) as added;
        drop table {{ before }};
        delete from {{ changes }}
        where change_run < (
            select coalesce(min(recent.change_run), 0)
            from (
                select change_run from {{ changes }}
                where run_kind is not null
                order by change_run desc
                limit 30
            ) as recent
        )
    {%- else -%}
        drop table if exists {{ changes }};
        {{ create_attribution_changes(changes) }};
        insert into {{ changes }} (change_run, run_kind, change_sign)
        values ({{ run }}, 'full', 0)
    {%- endif -%}
{%- endmacro %}

{% macro table_exists_now(relation) -%}
    {#- Whether `relation` is a table in the warehouse now. Not dbt's relation cache: the log
        is created by a hook, which the cache of the same invocation does not see. -#}
    {%- set probe -%}
        select count(*) from information_schema.tables
        where
            lower(table_schema) = lower('{{ relation.schema }}')
            and lower(table_name) = lower('{{ relation.identifier }}')
            {%- if target.type == 'duckdb' %}
            and lower(table_catalog) = lower('{{ relation.database }}')
            {%- endif %}
    {%- endset -%}
    {%- do return(run_query(probe).rows[0][0] > 0) -%}
{%- endmacro %}

{% macro create_attribution_changes(changes) -%}
    create table {{ changes }} (
        change_run {{ dbt.type_bigint() }},
        run_kind {{ dbt.type_string() }},
        change_sign integer,
        event_id {{ dbt.type_string() }},
        event_name {{ dbt.type_string() }},
        person_id {{ dbt.type_string() }},
        account_id {{ dbt.type_string() }},
        occurred_date date
    )
{%- endmacro %}

{% macro attribution_window() -%}
    {#- The run's window on the stored rows: those received after the newest kept time.
        record_test_window remembers that time for this invocation once the lookback delete
        has run; before it, incremental_newest_kept computes it as the delete will leave it.
        Both give the rows the delete removes and the append writes. -#}
    {%- set recorded = graph.get('lawn_test_windows', {}).get(invocation_id ~ ':' ~ this.identifier) -%}
    {%- set newest_kept = (
        recorded.newest_kept if recorded is not none else incremental_newest_kept('received_at')
    ) -%}
    {#- nothing kept: every row is in the window -#}
    {{ received_after_newest_kept(
        'windowed.received_at', newest_kept if newest_kept is not none else '1900-01-01 00:00:00'
    ) }}
{%- endmacro %}

{% macro log_moved_rows(changes, old_rows, new_rows) -%}
    {#- A move of the re-attribution: `old_rows` (a query of stored rows, the old person) out
        with -1, `new_rows` (the same rows with the new person) in with +1. -#}
    insert into {{ changes }}
        (change_run, change_sign, event_id, event_name, person_id, account_id, occurred_date)
    select {{ attribution_change_run() }}, -1, {{ attribution_change_columns('old_row') }}
    from ({{ old_rows }}) as old_row;
    insert into {{ changes }}
        (change_run, change_sign, event_id, event_name, person_id, account_id, occurred_date)
    select {{ attribution_change_run() }}, 1, {{ attribution_change_columns('new_row') }}
    from ({{ new_rows }}) as new_row
{%- endmacro %}

{% macro changes_since_consumed(fingerprint) -%}
    {#- For a model that applies int_events_attributed's log as deltas: none when it must be
        built in full (not incremental, no log, no record of its last run, a 'full' run
        since, its last run pruned from the log, or its configuration `fingerprint` changed
        since); else {'after': its last run, 'upto': the newest run in the log}. Read when the
        model is compiled (before its hooks), and again by its pre-hook. -#}
    {%- if not execute or not is_incremental() or target.type == 'spark'
        or model.resource_type != 'model' -%}
        {%- do return(none) -%}
    {%- endif -%}
    {%- set changes = attribution_changes_relation(ref('int_events_attributed')) -%}
    {%- set consumed = consumed_changes_relation() -%}
    {%- for relation in [changes, consumed] -%}
        {%- if not table_exists_now(relation) -%}
            {%- do return(none) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- set probe -%}
        select
            last_run.change_run as after_run,
            (select max(newest.change_run) from {{ changes }} as newest) as upto_run,
            (
                select count(*) from {{ changes }} as logged
                where logged.run_kind is not null and logged.change_run = last_run.change_run
            ) as last_run_logged,
            (
                select count(*) from {{ changes }} as logged
                where logged.run_kind = 'full' and logged.change_run > last_run.change_run
            ) as full_runs_since,
            last_run.config_fingerprint
        from {{ consumed }} as last_run
    {%- endset -%}
    {%- set rows = run_query(probe).rows -%}
    {%- if rows | length != 1 or rows[0][0] is none or rows[0][2] == 0 or rows[0][3] > 0
        or rows[0][4] != fingerprint -%}
        {%- do return(none) -%}
    {%- endif -%}
    {%- do return({'after': rows[0][0] | int, 'upto': rows[0][1] | int}) -%}
{%- endmacro %}

{% macro consumed_changes_relation() -%}
    {%- do return(side_table_relation('changes_consumed')) -%}
{%- endmacro %}

{% macro changed_rows(since) -%}
    {#- The signed rows logged after `since.after` up to `since.upto`. -#}
    (
        select
            logged.change_sign,
            logged.event_id,
            logged.event_name,
            logged.person_id,
            logged.account_id,
            logged.occurred_date
        from {{ attribution_changes_relation(ref('int_events_attributed')) }} as logged
        where
            logged.change_sign != 0
            and logged.change_run > {{ since.after }}
            and logged.change_run <= {{ since.upto }}
    )
{%- endmacro %}

{% macro save_consumed_changes(fingerprint) -%}
    {#- Post-hook of a consumer: the newest run of the log it has now consumed (null without a
        log: the next run rebuilds in full) and the configuration it was built with. -#}
    {%- if target.type == 'spark' or not execute -%}
        {%- do return('') -%}
    {%- endif -%}
    {%- set changes = attribution_changes_relation(ref('int_events_attributed')) -%}
    {%- set consumed = consumed_changes_relation() -%}
    {%- set logged = table_exists_now(changes) -%}
    drop table if exists {{ consumed }};
    create table {{ consumed }} as
    select
        {% if not logged -%}
            cast(null as {{ dbt.type_bigint() }})
        {%- else -%}
            (select max(logged.change_run) from {{ changes }} as logged)
        {%- endif %} as change_run,
        cast('{{ fingerprint | replace("'", "''") }}' as {{ dbt.type_string() }}) as config_fingerprint
{%- endmacro %}

{% macro delete_all_to_rebuild(fingerprint) -%}
    {#- Pre-hook of a consumer on an incremental run that must rebuild in full (no usable log):
        every row goes first (its delete+insert would otherwise keep rows the rebuild no
        longer has). Nothing on an incremental run that applies the log. -#}
    {%- if not execute or not is_incremental() or target.type == 'spark' -%}
        {%- do return('') -%}
    {%- endif -%}
    {%- if changes_since_consumed(fingerprint) is none -%}
        delete from {{ this }}
    {%- endif -%}
{%- endmacro %}

{% macro activity_days_fingerprint() -%}
    {#- int_activity_days' configuration: the activity events. -#}
    {%- do return('activity_event_names=' ~ (var('activity_event_names') | join(','))) -%}
{%- endmacro %}


{% macro delete_days_without_activity() -%}
    {#- Post-hook of int_activity_days: days whose event count the applied deltas brought to 0
        (on a rebuild there are none). -#}
    {%- if not execute or target.type == 'spark' -%}
        {%- do return('') -%}
    {%- endif -%}
    delete from {{ this }} where activity_events <= 0
{%- endmacro %}
