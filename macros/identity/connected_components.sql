{% macro connected_components(edges_relation, scratch_name, max_iterations=none) -%}
    {#- Label every node of an undirected graph (edges_relation: node_a, node_b; a NULL end
        is no edge) with the smallest node of its connected component, in the warehouse.
        The text ids are numbered once in their own order (so the smallest number is the
        smallest node on every engine) and the rounds work on those integers, on the graph
        stored once per edge (smaller end first). Each round, every node of the remaining
        graph hooks to its smallest neighbour (or stays a root), pointer jumping shortcuts the
        hooks until every node points at a root, and the graph is contracted onto the roots
        (edges inside one tree vanish). A node that stops being a root leaves the graph, so
        later rounds are small; rounds repeat until no edge is left. Each round keeps its
        node -> root table, and the labels follow those tables in one join at the end.
        A row knows whether its parent is a root (is_settled; after a jump, whether its
        parent's parent was), so jumping stops without a confirming jump. Rounds and the jumps
        of each round are both capped by `max_iterations` (var identity_max_iterations by
        default): past the cap the build stops with an error rather than return a partial
        answer. Every step is one CREATE TABLE AS (one statement per call, as Spark needs);
        no statement reads the table it writes. Returns the name of a scratch table
        (node, component) next to the calling model. -#}
    {%- set cap = (max_iterations or var('identity_max_iterations')) | int -%}
    {%- set labels = scratch_table_name(scratch_name) -%}
    {%- if not execute -%}
        {{ return(labels) }}
    {%- endif -%}
    {%- set ids = labels ~ '_ids' -%}
    {%- set graph = [labels ~ '_graph_0', labels ~ '_graph_1'] -%}
    {%- call statement('cc_ids') -%}
        {{ create_or_replace_table_as(ids) }}
        with

        both_ends as (
            select node_a as node from {{ edges_relation }}
            union
            select node_b as node from {{ edges_relation }}
        )

        select
            node,
            row_number() over (order by node) as node_id
        from both_ends
        where node is not null
    {%- endcall -%}
    {%- call statement('cc_graph') -%}
        {{ create_or_replace_table_as(graph[0]) }}
        select distinct
            least(end_a.node_id, end_b.node_id) as node_a,
            greatest(end_a.node_id, end_b.node_id) as node_b
        from {{ edges_relation }} as edges
        inner join {{ ids }} as end_a on edges.node_a = end_a.node
        inner join {{ ids }} as end_b on edges.node_b = end_b.node
        where end_a.node_id != end_b.node_id
    {%- endcall -%}
    {%- set edges_left = run_query('select count(*) from ' ~ graph[0]).columns[0].values()[0] -%}
    {%- set state = namespace(converged=(edges_left == 0), rounds=0, jumps=0, graph=0) -%}
    {%- set round_roots = [] -%}
    {%- set scratch_tables = [ids] + graph -%}
    {%- for round in range(cap) if not state.converged -%}
        {%- set current_graph = graph[state.graph] -%}
        {%- set parents = [labels ~ '_parents_' ~ round ~ '_0', labels ~ '_parents_' ~ round ~ '_1'] -%}
        {%- call statement('cc_hook') -%}
            {{ create_or_replace_table_as(parents[0]) }}
            with

            directed as (
                select node_a as node_id, node_b as neighbour_id from {{ current_graph }}
                union all
                select node_b as node_id, node_a as neighbour_id from {{ current_graph }}
            ),

            hooks as (
                select
                    node_id,
                    case
                        when min(neighbour_id) < node_id then min(neighbour_id) else node_id
                    end as parent_id
                from directed
                group by node_id
            )

            select
                hooks.node_id,
                hooks.parent_id,
                grand.parent_id = hooks.parent_id as is_settled
            from hooks
            inner join hooks as grand on hooks.parent_id = grand.node_id
        {%- endcall -%}
        {%- set jump = namespace(done=false, table=0, used=1) -%}
        {%- set unsettled = run_query(
            'select count(*) from ' ~ parents[0] ~ ' where not is_settled'
        ).columns[0].values()[0] -%}
        {%- set jump.done = (unsettled == 0) -%}
        {%- for step in range(cap) if not jump.done -%}
            {%- call statement('cc_jump') -%}
                {{ create_or_replace_table_as(parents[1 - jump.table]) }}
                select
                    hooks.node_id,
                    grand.parent_id,
                    grand.is_settled
                from {{ parents[jump.table] }} as hooks
                inner join {{ parents[jump.table] }} as grand
                    on hooks.parent_id = grand.node_id
            {%- endcall -%}
            {%- set jump.table = 1 - jump.table -%}
            {%- set jump.used = 2 -%}
            {%- set state.jumps = state.jumps + 1 -%}
            {%- set unsettled = run_query(
                'select count(*) from ' ~ parents[jump.table] ~ ' where not is_settled'
            ).columns[0].values()[0] -%}
            {%- if unsettled == 0 -%}
                {%- set jump.done = true -%}
            {%- endif -%}
        {%- endfor -%}
        {%- if not jump.done -%}
            {{ exceptions.raise_compiler_error(
                "connected_components(" ~ scratch_name ~ ") pointer jumping did not converge within "
                ~ cap ~ " iterations; raise var identity_max_iterations if the graph is that deep"
            ) }}
        {%- endif -%}
        {%- set roots = parents[jump.table] -%}
        {%- do round_roots.append(roots) -%}
        {%- for table in parents[:jump.used] -%}
            {%- do scratch_tables.append(table) -%}
        {%- endfor -%}
        {%- call statement('cc_contract') -%}
            {{ create_or_replace_table_as(graph[1 - state.graph]) }}
            select distinct
                least(root_a.parent_id, root_b.parent_id) as node_a,
                greatest(root_a.parent_id, root_b.parent_id) as node_b
            from {{ current_graph }} as edges
            inner join {{ roots }} as root_a on edges.node_a = root_a.node_id
            inner join {{ roots }} as root_b on edges.node_b = root_b.node_id
            where root_a.parent_id != root_b.parent_id
        {%- endcall -%}
        {%- set state.graph = 1 - state.graph -%}
        {%- set edges_left = run_query(
            'select count(*) from ' ~ graph[state.graph]
        ).columns[0].values()[0] -%}
        {%- set state.rounds = round + 1 -%}
        {%- if edges_left == 0 -%}
            {%- set state.converged = true -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if not state.converged -%}
        {{ exceptions.raise_compiler_error(
            "connected_components(" ~ scratch_name ~ ") did not converge within " ~ cap
            ~ " iterations; raise var identity_max_iterations if the graph is legitimately deep"
        ) }}
    {%- endif -%}
    {#- a node's label after round k: its round-k root if it was in that round's graph,
        else its label after round k - 1 -#}
    {%- set label = namespace(expression='nodes.node_id') -%}
    {%- call statement('cc_labels') -%}
        {{ create_or_replace_table_as(labels) }}
        select
            nodes.node,
            roots.node as component
        from {{ ids }} as nodes
        {%- for roots in round_roots %}
        left join {{ roots }} as round_{{ loop.index }}
            on {{ label.expression }} = round_{{ loop.index }}.node_id
            {%- set label.expression = 'coalesce(round_' ~ loop.index ~ '.parent_id, '
                ~ label.expression ~ ')' %}
        {%- endfor %}
        inner join {{ ids }} as roots on {{ label.expression }} = roots.node_id
    {%- endcall -%}
    {#- one statement per call (Spark runs no more) -#}
    {%- for scratch in scratch_tables -%}
        {%- call statement('cc_cleanup') -%}
            drop table if exists {{ scratch }}
        {%- endcall -%}
    {%- endfor -%}
    {%- do log("connected_components(" ~ scratch_name ~ "): " ~ state.rounds ~ " rounds, "
        ~ state.jumps ~ " jumps", info=true) -%}
    {{ return(labels) }}
{%- endmacro %}
