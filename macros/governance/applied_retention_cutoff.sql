{% macro applied_retention_cutoff(relation_name) -%}
    {#- The latest cutoff `lawn retention` applied (not a dry run) to relation_name (as in
        ops.retention_audit), as text 'YYYY-MM-DD HH:MM:SS'; none when none was applied, at
        parse time, or in a unit test. Rows older than it were purged (or anonymised), so a
        rebuild of a model that holds them from a layer that keeps them longer (raw landing
        outlives the event history; the event history the quarantine's identifiers) must not
        bring them back: int_events_deduplicated, fct_quarantined_events and
        pii_quarantined_event_payloads read it (docs/privacy.md). The latest is the largest:
        what an earlier run purged is gone whatever a later run's cutoff is. -#}
    {#- a unit test has no such input (and gets none); a model's parse records the source -#}
    {%- if model.resource_type != 'model' -%}
        {%- do return(none) -%}
    {%- endif -%}
    {%- set audit = source('privacy', 'retention_audit') -%}
    {%- if not execute -%}
        {%- do return(none) -%}
    {%- endif -%}
    {%- set latest -%}
        select cast(max(cutoff_at) as {{ dbt.type_string() }}) as cutoff_at
        from {{ audit }}
        where not is_dry_run and relation_name = '{{ relation_name }}'
    {%- endset -%}
    {%- set value = run_query(latest).columns[0].values()[0] -%}
    {%- do return(value if value else none) -%}
{%- endmacro %}
