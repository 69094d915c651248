{% macro catalog_resolve_node(unique_id, state) -%}
    {#- Resolve one node's columns into state['resolved'] (its upstreams first). -#}
    {%- if unique_id in state['resolved'] -%}{{ return(none) }}{%- endif -%}
    {%- set node = catalog_graph_node(unique_id) -%}
    {%- if node is none -%}{{ return(none) }}{%- endif -%}
    {%- set keys = ['owner', 'purpose', 'data_class', 'retention_class'] -%}
    {%- set upstream_ids = [] -%}
    {%- if node.resource_type != 'source' -%}
        {%- for parent in node.depends_on.nodes -%}
            {#- per edge, on every run (the catalog gate): the lookup of catalog_graph_node
                inline, and no call for a parent already resolved -#}
            {%- if parent in graph.nodes or parent in graph.sources -%}
                {%- if parent not in state['resolved'] -%}
                    {%- do catalog_resolve_node(parent, state) -%}
                {%- endif -%}
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
                or state['ranks'].get(candidate.get('data_class'), 0)
                > state['ranks'].get(best['meta'].get('data_class'), 0)) -%}
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
