{% macro connected_components(edges_relation, scratch_name, max_iterations=none) -%}
    {#- Label every node of an undirected graph with the smallest node of its connected
        component, computed in the warehouse: min-label propagation with pointer jumping,
        repeated until no label changes. Stops the build with an error when it has not
        converged within `max_iterations` (var identity_max_iterations by default) instead
        of returning a partial answer.
        Returns the name of a scratch table (node, component) built next to the model. -#}
    {%- set cap = (max_iterations or var('identity_max_iterations')) | int -%}
    {%- set labels = this.schema ~ '.' ~ this.identifier ~ '__' ~ scratch_name -%}
    {%- set nxt = labels ~ '_next' -%}
    {%- if not execute -%}
        {{ return(labels) }}
    {%- endif -%}
    {%- call statement('cc_init') -%}
        create or replace table {{ labels }} as
        with both_ends as (
            select node_a as node from {{ edges_relation }}
            union
            select node_b as node from {{ edges_relation }}
        )
        select node, node as component from both_ends where node is not null
    {%- endcall -%}
    {%- set state = namespace(converged=false, iterations=0) -%}
    {%- for i in range(cap) if not state.converged -%}
        {%- call statement('cc_step') -%}
            create or replace table {{ nxt }} as
            with

            directed as (
                select node_a as node, node_b as neighbour from {{ edges_relation }}
                union all
                select node_b as node, node_a as neighbour from {{ edges_relation }}
            ),

            neighbour_min as (
                select directed.node, min(labels.component) as component
                from directed
                inner join {{ labels }} as labels on directed.neighbour = labels.node
                group by directed.node
            ),

            propagated as (
                select
                    labels.node,
                    case
                        when neighbour_min.component < labels.component
                            then neighbour_min.component
                        else labels.component
                    end as component
                from {{ labels }} as labels
                left join neighbour_min on labels.node = neighbour_min.node
            ),

            jumped as (
                select
                    propagated.node,
                    case
                        when parent.component < propagated.component then parent.component
                        else propagated.component
                    end as component
                from propagated
                left join propagated as parent on propagated.component = parent.node
            )

            select * from jumped
        {%- endcall -%}
        {%- set changed = run_query(
            'select count(*) from ' ~ nxt ~ ' as nxt inner join ' ~ labels
            ~ ' as cur on nxt.node = cur.node where nxt.component != cur.component'
        ).columns[0].values()[0] -%}
        {%- call statement('cc_swap') -%}
            create or replace table {{ labels }} as select * from {{ nxt }}
        {%- endcall -%}
        {%- set state.iterations = i + 1 -%}
        {%- if changed == 0 -%}
            {%- set state.converged = true -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if not state.converged -%}
        {{ exceptions.raise_compiler_error(
            "connected_components(" ~ scratch_name ~ ") did not converge within " ~ cap
            ~ " iterations; raise var identity_max_iterations if the graph is legitimately deep"
        ) }}
    {%- endif -%}
    {%- do log("connected_components(" ~ scratch_name ~ "): converged after "
        ~ state.iterations ~ " iterations", info=false) -%}
    {{ return(labels) }}
{%- endmacro %}
