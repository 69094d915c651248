{% macro attributed_person_joins(events, identity_map, identifiers) -%}
    {#- The three identity-map joins of int_events_attributed: the person of an event is the
        one of its user_id, else its anonymous_id, else its device_id (each in the identity
        graph's normal form). `events` is the alias of the event rows, `identity_map` a
        relation or subquery of (identifier_key, person_id) with person_id not null, and
        `identifiers` a relation holding (at least) every user_id, anonymous_id and device_id
        of those rows. Each raw value is normalised and looked up once (identifiers repeat
        across a person's events), then the events join on the raw value itself: the same
        person as joining every event on its normalised key. Used by the model and by its
        re-attribution pre-hook, so both resolve alike. -#}
    {%- for column, alias in [
        ('user_id', 'by_user'),
        ('anonymous_id', 'by_anonymous_id'),
        ('device_id', 'by_device_id'),
    ] %}
    left join (
        select
            raw_values.raw_value,
            person_map.person_id
        from (
            select distinct {{ column }} as raw_value
            from {{ identifiers }}
            where {{ column }} is not null
        ) as raw_values
        inner join {{ identity_map }} as person_map
            on
                '{{ column }}:' || {{ normalize_identifier('raw_values.raw_value') }}
                = person_map.identifier_key
    ) as {{ alias }}
        on {{ events }}.{{ column }} = {{ alias }}.raw_value
    {%- endfor %}
{%- endmacro %}

{% macro attributed_person_id() -%}
    coalesce(by_user.person_id, by_anonymous_id.person_id, by_device_id.person_id)
{%- endmacro %}

{% macro attribution_state_relation() -%}
    {#- The (identifier_key -> person_id) pairs the last run of int_events_attributed
        attributed with (docs/incremental_attribution.md); a table next to the model, written
        in the model's own transaction by save_attribution_state. -#}
    {%- do return(side_table_relation('identity_state')) -%}
{%- endmacro %}

{% macro attribution_current_map() -%}
    (
        select identifier_key, person_id
        from {{ ref('int_identity_map') }}
        where person_id is not null
    )
{%- endmacro %}

{% macro attribution_state_map() -%}
    {#- The pairs kept as the state: only the three identifier types the joins read (never
        emails; identifier_key is always `identifier_type:value`).
        reattribute_changed_identifiers filters the same pairs (its `state_map`) from the map
        it computes once: keep the two alike. -#}
    (
        select identifier_key, person_id
        from {{ ref('int_identity_map') }}
        where
            person_id is not null
            and identifier_type in ('user_id', 'anonymous_id', 'device_id')
    )
{%- endmacro %}

{% macro reattribute_changed_identifiers() -%}
    {#- Pre-hook of int_events_attributed (after delete_lookback_window): on an incremental
        run, the stored events that carry an identifier whose person changed since the last
        run (the saved state against the identity map now: merges, splits, erasures,
        blocklist edits; a pair present on one side only counts as changed) get their person
        again from the current map. The events carrying a key are found through
        int_identity_observations (one row per event and normalised identifier, the same
        key the joins use). Without a saved state (first incremental run after a version
        without it, or dropped by `lawn privacy erase`) every stored event is re-attributed. -#}
    {%- if is_incremental() -%}
        {%- set state = adapter.get_relation(
            database=this.database, schema=this.schema, identifier=this.identifier ~ '__identity_state'
        ) -%}
        {%- if state is none -%}
            {%- set affected = '1 = 1' -%}
        {%- else -%}
            {%- set affected -%}
                events.event_id in (
                    select observations.event_id
                    from {{ ref('int_identity_observations') }} as observations
                    where observations.identifier_key in (
                        select coalesce(saved.identifier_key, state_map.identifier_key)
                        from {{ state }} as saved
                        full outer join state_map
                            on saved.identifier_key = state_map.identifier_key
                        where saved.person_id is distinct from state_map.person_id
                    )
                )
            {%- endset -%}
        {%- endif -%}
        {%- set resolved -%}
            {#- the identity map (a view) computed once for the diff and the three joins;
                the affected events' ids alone: the joins look up only their values -#}
            with current_map as (
                select
                    identity_map.identifier_key,
                    identity_map.identifier_type,
                    identity_map.person_id
                from {{ ref('int_identity_map') }} as identity_map
                where identity_map.person_id is not null
            ),

            {#- attribution_state_map's pairs: the three identifier types the joins read -#}
            state_map as (
                select
                    current_map.identifier_key,
                    current_map.person_id
                from current_map
                where current_map.identifier_type in ('user_id', 'anonymous_id', 'device_id')
            ),

            affected_events as (
                select
                    events.event_id,
                    events.user_id,
                    events.anonymous_id,
                    events.device_id
                from {{ this }} as events
                where {{ affected }}
            )

            select
                events.event_id,
                {{ attributed_person_id() }} as person_id
            from affected_events as events
            {{ attributed_person_joins('events', 'current_map', 'affected_events') }}
        {%- endset -%}
        {{ apply_reattribution(this, resolved, attribution_changes_relation()) }}
    {%- endif -%}
{%- endmacro %}

{% macro save_attribution_state(step) -%}
    {#- Post-hooks of int_events_attributed (same transaction as the run): the pairs this run
        attributed with replace the saved ones, on a full refresh too (step 'drop', then
        'create'). -#}
    {%- set state = attribution_state_relation() -%}
    {%- if step == 'drop' -%}
        drop table if exists {{ state }}
    {%- else -%}
        create table {{ state }} as
        select identifier_key, person_id from {{ attribution_state_map() }} as current_map
    {%- endif -%}
{%- endmacro %}

{% macro apply_reattribution(relation, resolved, changes=none) -%}
    {#- Gives the stored rows of `relation` (int_events_attributed) the person of `resolved`, a
        query of (event_id, person_id) for the affected events, where it differs. The same
        rows end up with the same values on every engine; how they get there differs. With
        `changes` (the model's change log, attribution_changes.sql), every changed row is
        logged there twice: out with its old person, in with its new one. -#}
    {{ return(adapter.dispatch('apply_reattribution', 'lawn')(relation, resolved, changes)) }}
{%- endmacro %}

{% macro default__apply_reattribution(relation, resolved, changes=none) -%}
    {#- PostgreSQL: an UPDATE (a new row version either way under its MVCC). -#}
    {%- if changes is not none %}
    {%- set changed -%}
        from {{ relation }} as attributed
        inner join (
            select distinct distinct_resolved.event_id, distinct_resolved.person_id
            from (
{{ resolved }}
            ) as distinct_resolved
        ) as resolved
            on attributed.event_id = resolved.event_id
        where attributed.person_id is distinct from resolved.person_id
    {%- endset %}
    {%- set old_rows -%}
        select attributed.* {{ changed }}
    {%- endset %}
    {%- set new_rows -%}
        select
            attributed.event_id,
            attributed.event_name,
            resolved.person_id,
            attributed.account_id,
            attributed.occurred_date
        {{ changed }}
    {%- endset %}
    {{ log_moved_rows(changes, old_rows, new_rows) }};
    {%- endif %}
    update {{ relation }} as attributed
    set person_id = resolved.person_id
    from (
{{ resolved }}
    ) as resolved
    where
        attributed.event_id = resolved.event_id
        and attributed.person_id is distinct from resolved.person_id
{%- endmacro %}

{% macro duckdb__apply_reattribution(relation, resolved, changes=none) -%}
    {#- DuckDB: the changed rows are moved (copied with their new person, deleted, appended
        again) instead of updated in place. An UPDATE of a few thousand events spread over
        history makes DuckDB's next checkpoint rewrite the person_id column of every row group
        it touched, i.e. of the whole table; deleted rows are only marked, and the appended
        ones are new row groups at the end (docs/performance.md, "Re-attribution moves
        rows"). Each stored row is copied at most once and deleted by its rowid, so the table
        keeps exactly its rows, and every column but person_id keeps its value, whatever the
        keys hold. -#}
    {#- The moves are found on narrow columns first (rowid, event_id, person_id), then only the
        moved rows are read whole: joining `resolved` to every column of the table made DuckDB
        read the payload of all its rows (2.97 s against 1.82 s + 0.01 s at 10.2M events, the
        same rows; docs/performance.md, "A strptime fast path for event times, and
        re-attribution read narrow first"). -#}
    {%- set moved = relation.identifier ~ '__reattributed' -%}
    {%- set moves = relation.identifier ~ '__moves' -%}
    create temporary table {{ moves }} as
    select
        attributed.rowid as lawn_moved_rowid,
        resolved.person_id as lawn_new_person_id
    from {{ relation }} as attributed
    inner join (
{{ resolved }}
    ) as resolved
        on attributed.event_id = resolved.event_id
    where attributed.person_id is distinct from resolved.person_id
    qualify row_number() over (partition by attributed.rowid order by resolved.person_id) = 1;
    create temporary table {{ moved }} as
    select
        attributed.rowid as lawn_moved_rowid,
        attributed.* replace (moves.lawn_new_person_id as person_id)
    from {{ relation }} as attributed
    inner join {{ moves }} as moves on attributed.rowid = moves.lawn_moved_rowid
    {#- the same rows as the join: the IN list is what DuckDB pushes into the scan, so the
        wide columns are read for those rows only #}
    where attributed.rowid in (select located.lawn_moved_rowid from {{ moves }} as located);
    drop table {{ moves }};
    {%- if changes is not none %}
    {%- set old_rows -%}
        select * from {{ relation }} as attributed
        where attributed.rowid in (select moved.lawn_moved_rowid from {{ moved }} as moved)
    {%- endset %}
    {{ log_moved_rows(changes, old_rows, 'select * from ' ~ moved) }};
    {%- endif %}
    delete from {{ relation }}
    where rowid in (select moved.lawn_moved_rowid from {{ moved }} as moved);
    insert into {{ relation }} select * exclude (lawn_moved_rowid) from {{ moved }};
    drop table {{ moved }}
{%- endmacro %}
