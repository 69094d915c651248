{#- The change log of int_events_attributed (docs/incremental_attribution.md, "The change
    log"): which persons and accounts each run of the model may have changed, so that models
    built from it per person or per account (int_activity_days) recompute only those.

    A table next to the model, `int_events_attributed__changes`, of (change_run,
    entity_type, entity_id):
    - change_run: the run's start (dbt's run_started_at) in microseconds since 1970, so runs
      order by time even across a dropped and recreated log;
    - one row ('run', 'incremental' | 'full') per run, and one per person ('user', person_id)
      and per account ('account', account_id) the run deleted, appended or moved rows of.
    A full refresh, and an incremental run that finds no log (after `lawn privacy erase` or
    `lawn retention apply`, which drop it because they delete rows outside dbt), write a
    'full' run: every consumer then rebuilds in full. Only the last 30 runs are kept; a
    consumer whose last run is older rebuilds in full. DuckDB and PostgreSQL (Spark builds
    the event models and their consumers as tables). -#}

{% macro attribution_changes_relation(attributed=none) -%}
    {%- set base = attributed if attributed is not none else this -%}
    {%- do return(api.Relation.create(
        database=base.database, schema=base.schema, identifier=base.identifier ~ '__changes'
    )) -%}
{%- endmacro %}

{% macro attribution_change_run() -%}
    {#- This dbt invocation's run number in the log (see above), as a literal. -#}
    {{- (run_started_at.timestamp() * 1000000) | int -}}
{%- endmacro %}

{% macro log_attribution_changes(step) -%}
    {#- Hooks of int_events_attributed. 'before' (a pre-hook, before the lookback delete):
        creates the log if it is missing, writes this run's row, and the persons and
        accounts of the stored rows the lookback delete is about to remove. 'after' (a
        post-hook): the persons and accounts of the rows this run appended; on a full refresh,
        a new log with a 'full' run. The moved rows of the re-attribution are written by
        apply_reattribution. -#}
    {%- if target.type == 'spark' or not execute -%}
        {%- do return('') -%}
    {%- endif -%}
    {%- set changes = attribution_changes_relation() -%}
    {%- set run = attribution_change_run() -%}
    {%- if step == 'before' -%}
        {%- if is_incremental() -%}
            {%- set existing = table_exists_now(changes) -%}
            {%- if not existing -%}
                {{ create_attribution_changes(changes) }};
            {%- endif %}
            insert into {{ changes }} (change_run, entity_type, entity_id)
            values ({{ run }}, 'run', '{{ "incremental" if existing else "full" }}');
            {{ log_window_entities(changes, run) }}
        {%- endif -%}
    {%- elif is_incremental() -%}
        {{ log_window_entities(changes, run) }};
        delete from {{ changes }}
        where change_run < (
            select coalesce(min(recent.change_run), 0)
            from (
                select change_run from {{ changes }}
                where entity_type = 'run'
                order by change_run desc
                limit 30
            ) as recent
        )
    {%- else -%}
        drop table if exists {{ changes }};
        {{ create_attribution_changes(changes) }};
        insert into {{ changes }} (change_run, entity_type, entity_id)
        values ({{ run }}, 'run', 'full')
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
        entity_type {{ dbt.type_string() }},
        entity_id {{ dbt.type_string() }}
    )
{%- endmacro %}

{% macro log_window_entities(changes, run) -%}
    {#- The persons and accounts of the stored rows inside this run's window (the rows the
        lookback delete removes, before it; the rows appended, after it). -#}
    insert into {{ changes }} (change_run, entity_type, entity_id)
    select distinct {{ run }}, entity.entity_type, entity.entity_id
    from (
        select 'user' as entity_type, windowed.person_id as entity_id
        from {{ this }} as windowed
        where windowed.person_id is not null and {{ attribution_window() }}
        union all
        select 'account' as entity_type, windowed.account_id as entity_id
        from {{ this }} as windowed
        where windowed.account_id is not null and {{ attribution_window() }}
    ) as entity
{%- endmacro %}

{% macro attribution_window() -%}
    {#- The run's window on the stored rows: those received after the newest kept time.
        record_test_window remembers that time for this invocation once the lookback delete
        has run; before it, incremental_window_predicate computes it as the delete will leave
        it. Both give the rows the delete removes and the append writes. -#}
    {%- set recorded = graph.get('lawn_test_windows', {}).get(invocation_id ~ ':' ~ this.identifier) -%}
    {%- set newest_kept = (
        recorded.newest_kept if recorded is not none else incremental_newest_kept('received_at')
    ) -%}
    {#- nothing kept: every row is in the window -#}
    {{ received_after_newest_kept(
        'windowed.received_at', newest_kept if newest_kept is not none else '1900-01-01 00:00:00'
    ) }}
{%- endmacro %}

{% macro log_moved_persons(changes, relation, resolved) -%}
    {#- The old and the new person of every stored row whose person `resolved` changes
        (PostgreSQL's apply_reattribution, before its update; DuckDB's logs from the rows it
        moves). -#}
    insert into {{ changes }} (change_run, entity_type, entity_id)
    select distinct {{ attribution_change_run() }}, 'user', moved.person_id
    from (
        select attributed.person_id, resolved.person_id as new_person_id
        from {{ relation }} as attributed
        inner join (
{{ resolved }}
        ) as resolved
            on attributed.event_id = resolved.event_id
        where attributed.person_id is distinct from resolved.person_id
    ) as changed
    cross join lateral (
        select changed.person_id
        union all
        select changed.new_person_id
    ) as moved
    where moved.person_id is not null
{%- endmacro %}

{% macro changes_since_consumed(fingerprint) -%}
    {#- For a model built per person/account from int_events_attributed: none when it must be
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
                where logged.entity_type = 'run' and logged.change_run = last_run.change_run
            ) as last_run_logged,
            (
                select count(*) from {{ changes }} as logged
                where
                    logged.entity_type = 'run'
                    and logged.entity_id = 'full'
                    and logged.change_run > last_run.change_run
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
    {%- do return(api.Relation.create(
        database=this.database, schema=this.schema, identifier=this.identifier ~ '__changes_consumed'
    )) -%}
{%- endmacro %}

{% macro changed_entities(since) -%}
    {#- The (entity_type, entity_id) pairs logged after `since.after` up to `since.upto`. -#}
    (
        select distinct logged.entity_type, logged.entity_id
        from {{ attribution_changes_relation(ref('int_events_attributed')) }} as logged
        where
            logged.entity_type in ('user', 'account')
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

{% macro delete_changed_entities(fingerprint) -%}
    {#- Pre-hook of a consumer (rows keyed by entity_type 'account' | 'user' and entity_id) on
        an incremental run: the rows of the persons and accounts changed since its last run,
        or every row when it rebuilds in full. -#}
    {%- if not execute or not is_incremental() or target.type == 'spark' -%}
        {%- do return('') -%}
    {%- endif -%}
    {%- set since = changes_since_consumed(fingerprint) -%}
    delete from {{ this }} as kept
    {%- if since is not none %}
    where exists (
        select 1
        from {{ changed_entities(since) }} as changed
        where
            changed.entity_type = kept.entity_type
            and changed.entity_id = kept.entity_id
    )
    {%- endif -%}
{%- endmacro %}

{% macro activity_days_fingerprint() -%}
    {#- int_activity_days' configuration: the activity events. -#}
    {%- do return('activity_event_names=' ~ (var('activity_event_names') | join(','))) -%}
{%- endmacro %}

{% macro moments_fingerprint() -%}
    {#- int_moments_reached's configuration: the rows of metric_moments that decide a match
        (read when the model is compiled and by its hooks; empty while parsing). -#}
    {%- if not execute -%}
        {%- do return('') -%}
    {%- endif -%}
    {%- set probe -%}
        select moment_name, entity_type, event_name, property_name, property_operator, property_value
        from {{ ref('metric_moments') }}
        order by moment_name, entity_type, event_name
    {%- endset -%}
    {%- set rows = run_query(probe).rows -%}
    {%- set parts = [] -%}
    {%- for row in rows -%}
        {%- do parts.append(row.values() | map('string') | join('|')) -%}
    {%- endfor -%}
    {%- do return('metric_moments=' ~ (parts | join(';'))) -%}
{%- endmacro %}
