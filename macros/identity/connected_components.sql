{% macro connected_components(edges_relation, scratch_name, max_iterations=none) -%}
    {#- Label every node of an undirected graph (edges_relation: node_a, node_b) with the
        smallest node of its connected component, in the warehouse.
        Each round, every component label hooks to the smallest label among its nodes'
        neighbours, then the hooks are shortcut (pointer jumping) until every label points
        at a root; rounds repeat until no label changes. Rounds and jumps are both capped by
        `max_iterations` (var identity_max_iterations by default): past the cap the build
        stops with an error rather than return a partial answer.
        Returns the name of a scratch table (node, component) next to the calling model. -#}
    {%- set cap = (max_iterations or var('identity_max_iterations')) | int -%}
    {%- set labels = this.schema ~ '.' ~ this.identifier ~ '__' ~ scratch_name -%}
    {%- if not execute -%}
        {{ return(labels) }}
    {%- endif -%}
    {%- set hooks = labels ~ '_hooks' -%}
    {%- set scratch = labels ~ '_scratch' -%}
    {%- call statement('cc_init') -%}
        {{ create_or_replace_table_as(labels) }}
        with both_ends as (
            select node_a as node from {{ edges_relation }}
            union
            select node_b as node from {{ edges_relation }}
        )
        select node, node as component from both_ends where node is not null
    {%- endcall -%}
    {%- set state = namespace(converged=false, rounds=0, jumps=0) -%}
    {%- for round in range(cap) if not state.converged -%}
        {%- call statement('cc_hook') -%}
            {{ create_or_replace_table_as(hooks) }}
            with

            directed as (
                select node_a as node, node_b as neighbour from {{ edges_relation }}
                union all
                select node_b as node, node_a as neighbour from {{ edges_relation }}
            ),

            candidates as (
                select
                    own.component as root,
                    min(neighbour_label.component) as candidate
                from directed
                inner join {{ labels }} as own on directed.node = own.node
                inner join {{ labels }} as neighbour_label
                    on directed.neighbour = neighbour_label.node
                group by own.component
            )

            select
                root,
                case when candidate < root then candidate else root end as parent
            from candidates
        {%- endcall -%}
        {%- set jump = namespace(done=false) -%}
        {%- for step in range(cap) if not jump.done -%}
            {%- call statement('cc_jump') -%}
                {{ create_or_replace_table_as(scratch) }}
                select hooks.root, coalesce(grand.parent, hooks.parent) as parent
                from {{ hooks }} as hooks
                left join {{ hooks }} as grand on hooks.parent = grand.root
            {%- endcall -%}
            {%- set moved = run_query(
                'select count(*) from ' ~ scratch ~ ' as nxt inner join ' ~ hooks
                ~ ' as cur on nxt.root = cur.root where nxt.parent != cur.parent'
            ).columns[0].values()[0] -%}
            {%- call statement('cc_jump_swap') -%}
                {{ create_or_replace_table_as(hooks) }} select * from {{ scratch }}
            {%- endcall -%}
            {%- set state.jumps = state.jumps + 1 -%}
            {%- if moved == 0 -%}
                {%- set jump.done = true -%}
            {%- endif -%}
        {%- endfor -%}
        {%- if not jump.done -%}
            {{ exceptions.raise_compiler_error(
                "connected_components(" ~ scratch_name ~ ") pointer jumping did not converge within "
                ~ cap ~ " iterations; raise var identity_max_iterations if the graph is that deep"
            ) }}
        {%- endif -%}
        {%- call statement('cc_relabel') -%}
            {{ create_or_replace_table_as(scratch) }}
            select labels.node, hooks.parent as component
            from {{ labels }} as labels
            inner join {{ hooks }} as hooks on labels.component = hooks.root
        {%- endcall -%}
        {%- set changed = run_query(
            'select count(*) from ' ~ scratch ~ ' as nxt inner join ' ~ labels
            ~ ' as cur on nxt.node = cur.node where nxt.component != cur.component'
        ).columns[0].values()[0] -%}
        {%- call statement('cc_swap') -%}
            {{ create_or_replace_table_as(labels) }} select * from {{ scratch }}
        {%- endcall -%}
        {%- set state.rounds = round + 1 -%}
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
    {#- one statement per call (Spark runs no more) -#}
    {%- call statement('cc_cleanup_hooks') -%}
        drop table if exists {{ hooks }}
    {%- endcall -%}
    {%- call statement('cc_cleanup_scratch') -%}
        drop table if exists {{ scratch }}
    {%- endcall -%}
    {%- do log("connected_components(" ~ scratch_name ~ "): " ~ state.rounds ~ " rounds, "
        ~ state.jumps ~ " jumps", info=true) -%}
    {{ return(labels) }}
{%- endmacro %}
