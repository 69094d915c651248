{% macro catalog_graph_node(unique_id) -%}
    {%- if unique_id in graph.nodes -%}
        {{ return(graph.nodes[unique_id]) }}
    {%- elif unique_id in graph.sources -%}
        {{ return(graph.sources[unique_id]) }}
    {%- endif -%}
    {{ return(none) }}
{%- endmacro %}
