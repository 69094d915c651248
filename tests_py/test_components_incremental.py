"""`incremental_connected_components` (docs/incremental_components.md), in a scratch dbt
project: a graph changed between runs (edges added and removed, a bridge cut, two components
joined, a node losing every edge, an edge with a missing end, random changes, a run with no
change, a full refresh) is labelled as a Python union-find labels the whole current graph,
after every run; each run recomputes exactly the nodes an independent Python computation
says were touched (the ends of the changed edges and their previous components), no more;
the state table holds the current edges and their labels. The first three runs also on
PostgreSQL in CI. Negative control: a copy of the macro that ignores removed edges keeps a
cut component whole."""

from __future__ import annotations

import random
import re
from pathlib import Path

import duckdb

from lawn.dbt_runner import run_dbt
from tests_py.pg_harness import query as pg_query
from tests_py.pg_harness import server_env
from tests_py.test_components import _union_find, run_scratch_dbt, write_scratch_project

PG_SCHEMA = "lawn_components_incremental_test"
MODELS = ("edges_live", "components_live")
Edge = tuple[str, str | None]
SUMMARY = re.compile(
    r"connected_components\(labels\) (in full|incremental: (\d+) changed edges, (\d+) affected nodes "
    r"recomputed of (\d+))"
)


def _chain(prefix: str, length: int) -> list[Edge]:
    return [(f"{prefix}{i:02d}", f"{prefix}{i + 1:02d}") for i in range(length - 1)]


# run 0: a chain a00-a09, a chain b00-b04, a star around s0, a pair, a self-loop, a node with a
# missing end, and thirty random edges among r00-r39
def _first_graph() -> list[Edge]:
    rng = random.Random(11)
    random_edges = [(f"r{rng.randrange(40):02d}", f"r{rng.randrange(40):02d}") for _ in range(30)]
    return (
        _chain("a", 10) + _chain("b", 5) + [("s0", f"s{i}") for i in range(1, 6)]
        + [("p1", "p2"), ("solo", "solo"), ("lonely", None)] + random_edges
    )  # fmt: skip


def _planted_changes(edges: list[Edge]) -> list[Edge]:
    """Run 1: the a-chain is cut between a04 and a05 (a05-a09 become their own component,
    labelled a05); b04-p1 joins the b-chain and the pair (label b00); s1 loses its only edge
    and leaves the graph; a new pair n1-n2 and a new node with a missing end; the pair's edge
    is given again in the other direction (the same edge: no change)."""
    kept = [edge for edge in edges if edge not in {("a04", "a05"), ("s0", "s1")}]
    return [*kept, ("b04", "p1"), ("n2", "n1"), ("new_lonely", None), ("p2", "p1")]


def _random_changes(edges: list[Edge], seed: int) -> list[Edge]:
    rng = random.Random(seed)
    kept = list(edges)
    rng.shuffle(kept)
    kept = kept[4:]  # four edges removed
    nodes = sorted({node for edge in kept for node in edge if node})
    added = [(rng.choice(nodes), rng.choice(nodes)) for _ in range(3)]
    added.append((rng.choice(nodes), f"x{seed}"))  # a new node joins an old component
    return kept + added


def _normalised(edges: list[Edge]) -> set[tuple[str, str]]:
    out = set()
    for a, b in edges:
        a, b = a or b, b or a
        if a is not None and b is not None:
            out.add((min(a, b), max(a, b)))
    return out


def _expected_recomputation(previous: list[Edge], current: list[Edge]) -> tuple[int, set[str]]:
    """The changed edges and the affected nodes, from the two edge lists alone: the ends of
    every edge in one list and not the other, and every node of their previous components."""
    before, after = _normalised(previous), _normalised(current)
    changed = before ^ after
    touched = {node for edge in changed for node in edge}
    old_labels = _union_find(list(before))
    touched_components = {old_labels[node] for node in touched if node in old_labels}
    affected = touched | {node for node, label in old_labels.items() if label in touched_components}
    return len(changed), affected


def _rounds() -> list[tuple[list[Edge], tuple[str, ...]]]:
    """The edge list of each run, and the run's extra dbt arguments."""
    graph = _first_graph()
    rounds = [(graph, ())]
    graph = _planted_changes(graph)
    rounds.append((graph, ()))
    graph = _random_changes(graph, 1)
    rounds.append((graph, ()))
    rounds.append((graph, ()))  # nothing changed
    graph = _random_changes(graph, 2)
    rounds.append((graph, ()))
    rounds.append((graph, ("--full-refresh",)))
    return rounds


def _project(root: Path, schema: str, ignore_removed_edges: bool = False) -> Path:
    write_scratch_project(root, schema)
    (root / "models" / "components_live.sql").write_text(
        "{{ config(materialized='table') }}\n"
        "select node, component from "
        "{{ incremental_connected_components(ref('edges_live'), 'labels') }}\n"
    )
    if ignore_removed_edges:
        macro = root / "macros" / "identity" / "incremental_connected_components.sql"
        text = macro.read_text()
        assert text.count(") as removed") == 1
        macro.write_text(text.replace(") as removed", ") as removed where 1 = 0"))
    return root


def _write_edges(project: Path, edges: list[Edge]) -> None:
    lines = ["node_a,node_b"] + [f"{a},{b or ''}" for a, b in edges]
    (project / "seeds" / "edges_live.csv").write_text("\n".join(lines) + "\n")


def _summary(stdout: str) -> tuple[str, int, int, int] | tuple[str]:
    found = SUMMARY.findall(stdout)
    assert len(found) == 1, stdout[-3000:]
    mode, changed, affected, nodes = found[0]
    return ("full",) if mode == "in full" else ("incremental", int(changed), int(affected), int(nodes))


def _check_run(stdout: str, labels: dict, state: set, previous: list[Edge] | None,
               current: list[Edge], extra: tuple[str, ...]) -> None:  # fmt: skip
    expected = _union_find(current)
    assert labels == expected
    assert state == {(a, b, expected[a]) for a, b in _normalised(current)}
    summary = _summary(stdout)
    if previous is None or extra:
        assert summary == ("full",)
        return
    changed, affected = _expected_recomputation(previous, current)
    assert summary == ("incremental", changed, len(affected), len(expected))


def _duckdb_run(project: Path, edges: list[Edge], extra: tuple[str, ...]):
    _write_edges(project, edges)
    result = run_dbt(["build", "--select", *MODELS, *extra], None, project_dir=project)
    assert result.returncode == 0, result.stdout[-3000:]
    with duckdb.connect(str(project / "scratch.duckdb"), read_only=True) as con:
        labels = dict(con.execute("select node, component from main.components_live").fetchall())
        state = set(con.execute("select * from main.components_live__components_state").fetchall())
        names = con.execute("select table_name from information_schema.tables").fetchall()
    tables = {name for (name,) in names}
    return result.stdout, labels, state, tables


def test_each_run_labels_the_whole_graph_and_recomputes_only_the_touched_nodes(tmp_path):
    project = _project(tmp_path / "duckdb", PG_SCHEMA)
    previous = None
    summaries = []
    for edges, extra in _rounds():
        stdout, labels, state, tables = _duckdb_run(project, edges, extra)
        _check_run(stdout, labels, state, previous, edges, extra)
        summaries.append(_summary(stdout))
        # the scratch tables are gone: the labels, the state, the model and its seed stay
        assert tables == {"edges_live", "components_live", "components_live__labels",
                          "components_live__components_state"}  # fmt: skip
        previous = edges
    # planted facts of run 1 (the cut, the join, the node that left, the new nodes)
    labels = _union_find(_rounds()[1][0])
    assert labels["a09"] == "a05" and labels["a04"] == "a00"
    assert labels["p2"] == "b00" and labels["n2"] == "n1" and labels["new_lonely"] == "new_lonely"
    assert "s1" not in labels
    # run 1 changes 5 edges (2 removed, 3 added; the pair given the other way round is the
    # same edge) and recomputes the a-chain, the b-chain, the pair, the star and the new
    # nodes only: 10 + 5 + 2 + 6 + 3; nothing changed in run 3
    assert summaries[1][1:3] == (5, 26)
    assert summaries[3][1:3] == (0, 0)
    total_nodes = summaries[1][3]
    assert all(summary[2] < total_nodes for summary in summaries[1:5])


def test_ignoring_removed_edges_keeps_a_cut_component_whole(tmp_path):
    """Negative control: the macro with its removed edges left out of the changed edges."""
    project = _project(tmp_path / "broken", PG_SCHEMA, ignore_removed_edges=True)
    rounds = _rounds()
    _duckdb_run(project, *rounds[0])
    _, labels, _, _ = _duckdb_run(project, *rounds[1])
    expected = _union_find(rounds[1][0])
    wrong = {node for node in expected.keys() | labels.keys() if labels.get(node) != expected.get(node)}
    assert wrong == {"a05", "a06", "a07", "a08", "a09", "s1"}
    assert labels["a09"] == "a00" and labels["s1"] == "s0"  # still whole; the leaver still in


def test_postgres_runs_the_same_rounds(tmp_path):
    """The first three runs (in full; the planted cut, join and leaver; random changes) on a
    PostgreSQL server (scripts/postgres_ci.sh; skipped without one, failing in CI): the SQL
    of the other runs is the same."""
    env = server_env()
    project = _project(tmp_path / "postgres", PG_SCHEMA)
    previous = None
    for index, (edges, extra) in enumerate(_rounds()[:3]):
        _write_edges(project, edges)
        if index == 0:
            extra = ("--full-refresh",)  # a state left by an earlier run of this test is not ours
        args = ["build", "--target", "postgres", "--select", *MODELS, *extra]
        result = run_scratch_dbt(project, args, env)
        assert result.returncode == 0, result.stdout[-3000:]
        labels = dict(pg_query(env, "dbt", f"select node, component from {PG_SCHEMA}.components_live"))
        state = set(pg_query(env, "dbt", f"select * from {PG_SCHEMA}.components_live__components_state"))
        _check_run(result.stdout, labels, state, previous, edges, extra)
        previous = edges
