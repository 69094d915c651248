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
