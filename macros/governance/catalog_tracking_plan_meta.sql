{% macro catalog_tracking_plan_meta() -%}
    {#- {property_name: {data_class, owner, purpose}} from the loaded tracking plan seed
        (the most restrictive class over the property's events and versions); empty when
        the seed has not been loaded into this warehouse yet. -#}
    {%- set ranks = catalog_class_ranks() -%}
    {%- set plan = {} -%}
    {%- set seed = graph.nodes.get('seed.' ~ project_name ~ '.tracking_plan_properties') -%}
    {%- if seed is none -%}{{ return(plan) }}{%- endif -%}
    {%- set relation = adapter.get_relation(
        database=seed.database, schema=seed.schema, identifier=seed.alias) -%}
    {%- if relation is none -%}{{ return(plan) }}{%- endif -%}
    {%- set mapping = var('governance_plan_pii_classes') -%}
    {%- set rows = run_query(
        'select property_name, pii_class, owner, purpose from ' ~ relation
        ~ ' order by property_name, event_name, schema_version') -%}
    {%- for row in rows -%}
        {%- set data_class = mapping.get(row[1]) -%}
        {%- set known = plan.get(row[0]) -%}
        {%- if known is none
            or ranks.get(data_class, 0) > ranks.get(known['data_class'], 0) -%}
            {%- do plan.update({row[0]: {
                'data_class': data_class, 'owner': row[2], 'purpose': row[3]}}) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(plan) }}
{%- endmacro %}
