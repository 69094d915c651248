{% macro components_state_relation() -%}
    {#- The edges the calling model's last run labelled, each with its component: a table
        next to the model (docs/incremental_components.md). -#}
    {%- do return(api.Relation.create(
        database=this.database, schema=this.schema,
        identifier=this.identifier ~ '__components_state'
    )) -%}
{%- endmacro %}

{% macro incremental_connected_components(edges_relation, scratch_name) -%}
    {#- connected_components (same arguments, same labels: each node with the smallest node
        of its component) that recomputes only the components touched by a changed edge.

        The state (components_state_relation) holds the edges the last run labelled, stored
        once per edge (smaller end first; an edge with one missing end as a self-edge of the
        other, which is how the full macro makes it a node), each with the component of its
        ends. One table holds both edges and labels, written by one statement, so it is
        consistent with itself whatever happened to the run that wrote it.

        An edge is changed if it is in the current edges or in the state, not in both
        (edges are removed too: a mailbox past identity_max_users_per_email, a device seen
        with a second person, a reviewer's cannot-link). The affected nodes are the ends of
        the changed edges and every node of their previous components. No current edge
        joins an affected node to an unaffected one: an unaffected node's previous
        component touches no changed edge, so its edges now are its edges then, which stayed
        inside it and still connect it; it is still a component with the same smallest
        node. So the full macro runs on the current edges with an affected end (whole
        components: the smallest node is right), and every other node keeps its label.
        A node whose every edge went is an end of a changed edge and is not in the current
        graph: it leaves.

        In full (the full macro, then the state written) on the first run, with
        --full-refresh, without a state (`lawn privacy erase` drops them), and on Spark
        (no state there: the models are tables rebuilt in full, like the other
        incremental models). Returns the name of a table (node, component), as the full
        macro does. -#}
    {%- set labels = scratch_table_name(scratch_name) -%}
    {%- if not execute -%}
        {{ return(labels) }}
    {%- endif -%}
    {%- set state = components_state_relation() -%}
    {%- set stored = adapter.get_relation(
        database=state.database, schema=state.schema, identifier=state.identifier
    ) -%}
    {%- set full = stored is none or should_full_refresh() or target.type == 'spark' -%}
    {%- if target.type == 'spark' -%}
        {{ return(connected_components(edges_relation, scratch_name)) }}
    {%- endif -%}
    {%- set current = labels ~ '_current' -%}
    {%- call statement('cc_current') -%}
        {{ create_or_replace_table_as(current) }}
        select distinct
            least(coalesce(node_a, node_b), coalesce(node_b, node_a)) as node_a,
            greatest(coalesce(node_a, node_b), coalesce(node_b, node_a)) as node_b
        from {{ edges_relation }}
        where node_a is not null or node_b is not null
    {%- endcall -%}
    {%- set scratch_tables = [current] -%}
    {%- if full -%}
        {%- set result = connected_components(current, scratch_name) -%}
        {%- set summary = 'in full' -%}
    {%- else -%}
        {%- set changed = labels ~ '_changed_edges' -%}
        {%- set affected = labels ~ '_affected' -%}
        {%- set subgraph = labels ~ '_subgraph' -%}
        {%- do scratch_tables.extend([changed, affected, subgraph]) -%}
        {%- call statement('cc_changed') -%}
            {{ create_or_replace_table_as(changed) }}
            select added.node_a, added.node_b
            from (
                select node_a, node_b from {{ current }}
                except
                select node_a, node_b from {{ state }}
            ) as added
            union all
            select removed.node_a, removed.node_b
            from (
                select node_a, node_b from {{ state }}
                except
                select node_a, node_b from {{ current }}
            ) as removed
        {%- endcall -%}
        {%- call statement('cc_affected') -%}
            {{ create_or_replace_table_as(affected) }}
            with

            touched as (
                select node_a as node from {{ changed }}
                union
                select node_b as node from {{ changed }}
            ),

            previous as (
                select node_a as node, component from {{ state }}
                union
                select node_b as node, component from {{ state }}
            ),

            touched_components as (
                select distinct previous.component
                from previous
                inner join touched on previous.node = touched.node
            )

            select node from touched
            union
            select previous.node
            from previous
            inner join touched_components
                on previous.component = touched_components.component
        {%- endcall -%}
        {%- call statement('cc_subgraph') -%}
            {{ create_or_replace_table_as(subgraph) }}
            select edges.node_a, edges.node_b
            from {{ current }} as edges
            where
                edges.node_a in (select node from {{ affected }})
                or edges.node_b in (select node from {{ affected }})
        {%- endcall -%}
        {%- set recomputed = connected_components(subgraph, scratch_name ~ '_recomputed') -%}
        {%- do scratch_tables.append(recomputed) -%}
        {%- call statement('cc_merge_labels') -%}
            {{ create_or_replace_table_as(labels) }}
            with

            previous as (
                select node_a as node, component from {{ state }}
                union
                select node_b as node, component from {{ state }}
            )

            select node, component from {{ recomputed }}
            union all
            select previous.node, previous.component
            from previous
            where previous.node not in (select node from {{ affected }})
        {%- endcall -%}
        {%- set counts = run_query(
            'select (select count(*) from ' ~ changed ~ '), (select count(*) from ' ~ affected
            ~ '), (select count(*) from ' ~ labels ~ ')'
        ).rows[0] -%}
        {%- set result = labels -%}
        {%- set summary = 'incremental: ' ~ counts[0] ~ ' changed edges, ' ~ counts[1]
            ~ ' affected nodes recomputed of ' ~ counts[2] -%}
    {%- endif -%}
    {#- the new state: the current edges with their components (written last: a run that
        stops before this line leaves the previous state, which the previous labels match) -#}
    {%- call statement('cc_state') -%}
        {{ create_or_replace_table_as(state) }}
        select
            edges.node_a,
            edges.node_b,
            labelled.component
        from {{ current }} as edges
        inner join {{ result }} as labelled on edges.node_a = labelled.node
    {%- endcall -%}
    {%- for scratch in scratch_tables -%}
        {%- call statement('cc_incremental_cleanup') -%}
            drop table if exists {{ scratch }}
        {%- endcall -%}
    {%- endfor -%}
    {%- do log("connected_components(" ~ scratch_name ~ ") " ~ summary, info=true) -%}
    {{ return(result) }}
{%- endmacro %}
