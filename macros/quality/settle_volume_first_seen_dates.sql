{% macro settle_volume_first_seen_dates(step) -%}
    {#- Post-hook of int_event_volumes_filled: on an incremental run, once the rebuilt days
        are inserted, a series' first day is the first day with events among all its rows
        (kept days' counts are unchanged, rebuilt days' are recounted). The kept rows get
        it as first_seen_date, and the rows before it (zero-filled days of a first day that
        moved later, every row of a series no delivery counts on any more) are deleted, as
        a full refresh would not have them. The model already wrote the rebuilt rows and
        the newly zero-filled days with it. `step`: 'delete' or 'update', one statement per
        hook; DuckDB and PostgreSQL both run `delete ... where not exists` and
        `update ... from`. -#}
    {%- set series_columns = ['rollup_level', 'event_name', 'source', 'platform', 'schema_version'] -%}
    {#- each series' first day with events, over every row the table holds now -#}
    {%- set series_first_days -%}
        select
            {{ series_columns | join(', ') }},
            min(activity_date) as first_seen_date
        from {{ this }}
        where event_count > 0
        group by {{ series_columns | join(', ') }}
    {%- endset -%}
    {%- if is_incremental() and step == 'delete' -%}
        delete from {{ this }} as volumes
        where not exists (
            select 1
            from ({{ series_first_days }}) as series
            where
                series.first_seen_date <= volumes.activity_date
                {%- for column in series_columns %}
                    and series.{{ column }} = volumes.{{ column }}
                {%- endfor %}
        )
    {%- elif is_incremental() and step == 'update' -%}
        update {{ this }} as volumes
        set first_seen_date = series.first_seen_date
        from ({{ series_first_days }}) as series
        where
            volumes.first_seen_date <> series.first_seen_date
            {%- for column in series_columns %}
                and volumes.{{ column }} = series.{{ column }}
            {%- endfor %}
    {%- endif -%}
{%- endmacro %}
