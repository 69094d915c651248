{#- int_person_event_extents as a consumer of int_events_attributed's change log
    (macros/attribution/attribution_changes.sql, docs/incremental_attribution.md). -#}

{% macro person_extents_fingerprint() -%}
    {#- What decides the model's values besides the events: whether the public events show
        feature_name (visible_property; masking it turns every activated_at null). A
        change rebuilds in full. -#}
    {%- if not execute -%}
        {%- do return('') -%}
    {%- endif -%}
    {%- do return('person_event_extents:feature_name_shown='
        ~ ('feature_name' in shown_property_names())) -%}
{%- endmacro %}

{% macro person_extents_to_recompute(since) -%}
    {#- The persons an event left since the consumed run (logged out of the person: a move
        to another person, a row appended again with other content): one of their firsts or
        their last may have been that event, so they are computed again. -#}
    select distinct changed.person_id
    from {{ changed_rows(since) }} as changed
    where changed.change_sign < 0 and changed.person_id is not null
{%- endmacro %}

{% macro delete_person_extents_to_recompute() -%}
    {#- Pre-hook of int_person_event_extents on a run that applies the log: the persons to
        compute again go first (they may have no event left). -#}
    {%- if not execute or not is_incremental() or target.type == 'spark' -%}
        {%- do return('') -%}
    {%- endif -%}
    {%- set since = changes_since_consumed(person_extents_fingerprint()) -%}
    {%- if since is not none -%}
        delete from {{ this }}
        where person_id in (
            select recomputed.person_id from ({{ person_extents_to_recompute(since) }}) as recomputed
        )
    {%- endif -%}
{%- endmacro %}
