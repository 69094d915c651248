{% macro catalog_column_meta() -%}
    {#- The governance meta of every column of every source, seed, model and snapshot of
        this project, after inheritance: {unique_id: {column: {key: value, key ~ '__from':
        origin}}} for the keys owner, purpose, data_class, retention_class. A key the column
        does not set itself is taken, in this order, from (1) the same-named column of its
        upstream nodes (depends_on; the most restrictive data class wins when several have
        it), resolved first, recursively; (2) for models, the tracking plan's property of
        that name (registry.tracking_plan_properties, when the seed is loaded), its pii_class
        mapped by var('governance_plan_pii_classes'). Name-based passthrough lineage only. -#}
    {%- set state = {'resolved': {}, 'plan': catalog_tracking_plan_meta(), 'ranks': catalog_class_ranks()} -%}
    {%- for node in catalog_governed_nodes() -%}
        {%- do catalog_resolve_node(node.unique_id, state) -%}
    {%- endfor -%}
    {{ return(state['resolved']) }}
{%- endmacro %}
