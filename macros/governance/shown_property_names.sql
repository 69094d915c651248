{% macro shown_property_names() -%}
    {#- Names of the tracking-plan properties the analyst marts show: declared in the plan
        and not masked (masked_property_names: a name classed personal or sensitive on any
        event is masked on every event). A key the plan does not declare is unclassified, so
        it is not shown either: an SDK's extra `user_email` or `phone` stays in
        pii.pii_event_personal_data only (docs/governance.md). Read from the staged plan when
        the model runs; the caller declares `-- depends_on: ref('stg_tracking_plan__properties')`. -#}
    {%- set names = [] -%}
    {%- if execute -%}
        {%- set plan = ref('stg_tracking_plan__properties') -%}
        {%- set masked = masked_property_names() -%}
        {%- if adapter.get_relation(plan.database, plan.schema, plan.identifier) is none -%}
            {{ return(names) }}
        {%- endif -%}
        {%- set rows = run_query('select distinct property_name from ' ~ plan ~ ' order by property_name') -%}
        {%- for row in rows -%}
            {%- if row[0] not in masked -%}
                {%- do names.append(row[0]) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(names) }}
{%- endmacro %}
