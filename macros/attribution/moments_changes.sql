{#- int_moments_reached as a consumer of int_events_attributed's change log
    (macros/attribution/attribution_changes.sql, docs/incremental_attribution.md). -#}

{% macro moments_fingerprint() -%}
    {#- int_moments_reached's configuration: the rows of metric_moments that decide what
        reaches a moment (a seed: read from the warehouse, so an edit rebuilds in full). -#}
    {%- if not execute -%}
        {%- do return('') -%}
    {%- endif -%}
    {%- set probe -%}
        select moment_name, entity_type, event_name, property_name, property_operator, property_value
        from {{ ref('metric_moments') }}
        order by moment_name, entity_type
    {%- endset -%}
    {%- set parts = [] -%}
    {%- for row in run_query(probe).rows -%}
        {%- do parts.append(row.values() | map('string') | join('|')) -%}
    {%- endfor -%}
    {%- do return('metric_moments=' ~ (parts | join(';'))) -%}
{%- endmacro %}

{% macro moments_to_recompute(since) -%}
    {#- The moments (entity and moment) an event of their kind left since the consumed run:
        logged out of the entity (a move to another person, a row appended again with other
        content). Their first may have been that event, so they are computed again. -#}
    select
        lost.entity_type,
        lost.entity_id,
        lost.moment_name,
        lost.entity_type || ':' || lost.entity_id || ':' || lost.moment_name as moment_reached_key
    from (
        select distinct
            moments.entity_type,
            case
                when moments.entity_type = 'account' then changed.account_id
                else changed.person_id
            end as entity_id,
            moments.moment_name
        from {{ changed_rows(since) }} as changed
        inner join {{ ref('metric_moments') }} as moments
            on changed.event_name = moments.event_name
        where changed.change_sign < 0
    ) as lost
    where lost.entity_id is not null
{%- endmacro %}

{% macro delete_moments_to_recompute() -%}
    {#- Pre-hook of int_moments_reached on a run that applies the log: the moments to compute
        again go first (the entity may not reach them any more). -#}
    {%- if not execute or not is_incremental() or target.type == 'spark' -%}
        {%- do return('') -%}
    {%- endif -%}
    {%- set since = changes_since_consumed(moments_fingerprint()) -%}
    {%- if since is not none -%}
        delete from {{ this }}
        where moment_reached_key in (
            select recomputed.moment_reached_key from ({{ moments_to_recompute(since) }}) as recomputed
        )
    {%- endif -%}
{%- endmacro %}
