{% macro catalog_column_meta() -%}
    {#- The governance meta of every column of every source, seed, model and snapshot of
        this project, after inheritance: {unique_id: {column: {key: value, key ~ '__from':
        origin}}} for the keys owner, purpose, data_class, retention_class. A key the column
        does not set itself is taken, in this order, from (1) the same-named column of its
        upstream nodes (depends_on; the most restrictive data class wins when several have
        it), resolved first, recursively; (2) for models, the tracking plan's property of
        that name (registry.tracking_plan_properties, when the seed is loaded), its pii_class
        mapped by var('governance_plan_pii_classes'). Name-based passthrough lineage only. -#}
    {%- set state = {'resolved': {}, 'plan': catalog_tracking_plan_meta()} -%}
    {%- for node in catalog_governed_nodes() -%}
        {%- do catalog_resolve_node(node.unique_id, state) -%}
    {%- endfor -%}
    {{ return(state['resolved']) }}
{%- endmacro %}


{% macro catalog_governed_nodes() -%}
    {#- Sources, seeds, models and snapshots of this project (not packages). -#}
    {%- set nodes = [] -%}
    {%- for node in graph.nodes.values() -%}
        {%- if node.resource_type in ['model', 'seed', 'snapshot']
            and node.package_name == project_name -%}
            {%- do nodes.append(node) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- for node in graph.sources.values() -%}
        {%- if node.package_name == project_name -%}
            {%- do nodes.append(node) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(nodes) }}
{%- endmacro %}


{% macro catalog_graph_node(unique_id) -%}
    {%- if unique_id in graph.nodes -%}
        {{ return(graph.nodes[unique_id]) }}
    {%- elif unique_id in graph.sources -%}
        {{ return(graph.sources[unique_id]) }}
    {%- endif -%}
    {{ return(none) }}
{%- endmacro %}


{% macro catalog_class_rank(data_class) -%}
    {%- set ranks = {
        'direct_pii': 5, 'indirect_pii': 4, 'pseudonymous': 3,
        'business': 2, 'operational': 1} -%}
    {{ return(ranks.get(data_class, 0)) }}
{%- endmacro %}


{% macro catalog_tracking_plan_meta() -%}
    {#- {property_name: {data_class, owner, purpose}} from the loaded tracking plan seed
        (the most restrictive class over the property's events and versions); empty when
        the seed has not been loaded into this warehouse yet. -#}
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
            or catalog_class_rank(data_class) > catalog_class_rank(known['data_class']) -%}
            {%- do plan.update({row[0]: {
                'data_class': data_class, 'owner': row[2], 'purpose': row[3]}}) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(plan) }}
{%- endmacro %}


{% macro catalog_resolve_node(unique_id, state) -%}
    {#- Resolve one node's columns into state['resolved'] (its upstreams first). -#}
    {%- if unique_id in state['resolved'] -%}{{ return(none) }}{%- endif -%}
    {%- set node = catalog_graph_node(unique_id) -%}
    {%- if node is none -%}{{ return(none) }}{%- endif -%}
    {%- set keys = ['owner', 'purpose', 'data_class', 'retention_class'] -%}
    {%- set upstream_ids = [] -%}
    {%- if node.resource_type != 'source' -%}
        {%- for parent in node.depends_on.nodes -%}
            {%- if catalog_graph_node(parent) is not none -%}
                {%- do catalog_resolve_node(parent, state) -%}
                {%- do upstream_ids.append(parent) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {%- set columns = {} -%}
    {%- for column in node.columns.values() -%}
        {%- set own = column.meta or {} -%}
        {%- set meta = {} -%}
        {%- for key in keys -%}
            {%- if own.get(key) not in [none, ''] -%}
                {%- do meta.update({key: own[key], key ~ '__from': 'own'}) -%}
            {%- endif -%}
        {%- endfor -%}
        {#- (1) the most restrictive same-named upstream column -#}
        {%- set best = {'meta': none, 'from': none} -%}
        {%- for parent in upstream_ids -%}
            {%- set candidate = state['resolved'][parent].get(column.name) -%}
            {%- if candidate is not none and (best['meta'] is none
                or catalog_class_rank(candidate.get('data_class'))
                > catalog_class_rank(best['meta'].get('data_class'))) -%}
                {%- do best.update({'meta': candidate, 'from': parent ~ '.' ~ column.name}) -%}
            {%- endif -%}
        {%- endfor -%}
        {%- if best['meta'] is not none -%}
            {%- for key in keys -%}
                {%- if key not in meta and best['meta'].get(key) is not none -%}
                    {%- do meta.update({key: best['meta'][key], key ~ '__from': best['from']}) -%}
                {%- endif -%}
            {%- endfor -%}
        {%- endif -%}
        {#- (2) the tracking plan property of the same name -#}
        {%- set planned = state['plan'].get(column.name) -%}
        {%- if node.resource_type == 'model' and planned is not none -%}
            {%- for key in ['data_class', 'owner', 'purpose'] -%}
                {%- if key not in meta and planned.get(key) not in [none, ''] -%}
                    {%- do meta.update({
                        key: planned[key],
                        key ~ '__from': 'tracking_plan.' ~ column.name}) -%}
                {%- endif -%}
            {%- endfor -%}
        {%- endif -%}
        {%- do columns.update({column.name: meta}) -%}
    {%- endfor -%}
    {%- do state['resolved'].update({unique_id: columns}) -%}
{%- endmacro %}


{% macro catalog_gate_problems(resolved) -%}
    {#- One line per offending node.column: missing or unknown meta, or direct_pii where
        it may not live. -#}
    {%- set keys = ['owner', 'purpose', 'data_class', 'retention_class'] -%}
    {%- set data_classes = ['direct_pii', 'indirect_pii', 'pseudonymous', 'business', 'operational'] -%}
    {%- set retention_classes = var('governance_retention_classes') -%}
    {%- set allowed_schemas = var('governance_direct_pii_schemas') -%}
    {%- set problems = [] -%}
    {%- for unique_id in resolved | sort -%}
        {%- set node = catalog_graph_node(unique_id) -%}
        {%- for column_name, meta in resolved[unique_id] | dictsort -%}
            {%- set where = unique_id ~ '.' ~ column_name -%}
            {%- set missing = [] -%}
            {%- for key in keys -%}
                {%- if key not in meta -%}{%- do missing.append(key) -%}{%- endif -%}
            {%- endfor -%}
            {%- if missing -%}
                {%- do problems.append(where ~ ': missing meta ' ~ missing | join(', ')) -%}
            {%- endif -%}
            {%- if 'data_class' in meta and meta['data_class'] not in data_classes -%}
                {%- do problems.append(where ~ ": unknown data_class '" ~ meta['data_class']
                    ~ "' (one of " ~ data_classes | join(', ') ~ ')') -%}
            {%- endif -%}
            {%- if 'retention_class' in meta
                and meta['retention_class'] not in retention_classes -%}
                {%- do problems.append(where ~ ": unknown retention_class '"
                    ~ meta['retention_class'] ~ "' (var governance_retention_classes)") -%}
            {%- endif -%}
            {%- if meta.get('data_class') == 'direct_pii' and node.resource_type != 'source' -%}
                {%- if 'vendor' in (node.tags or []) -%}
                    {%- do problems.append(where ~ ': direct_pii in a vendor-tagged '
                        ~ node.resource_type ~ ' (from ' ~ meta['data_class__from'] ~ ')') -%}
                {%- elif node.schema not in allowed_schemas -%}
                    {%- do problems.append(where ~ ": direct_pii in schema '" ~ node.schema
                        ~ "' (allowed: " ~ allowed_schemas | join(', ') ~ '; from '
                        ~ meta['data_class__from'] ~ ')') -%}
                {%- endif -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endfor -%}
    {{ return(problems) }}
{%- endmacro %}
