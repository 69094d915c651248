"""lawn/dbt_schedule.py: dbt's queue hands out the ready node with the longest way to go.

The ranks are checked against an independent count (every path to a sink walked, the most
costly kept); the order against real one-thread dbt runs of a scratch project, where dbt
runs the queue strictly in its priority order, through both ways lawn starts dbt (the fork
server and the plain child of lawn/dbt_main.py), with and without measured costs, and with
the patch switched off (dbt's own order by depth)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from lawn import dbt_schedule
from lawn.dbt_runner import run_dbt

# a hand-made DAG: node -> successors, with costs
GRAPH = {
    "a": ["b", "t_a"],
    "t_a": ["c"],  # a test of a, an edge to a's children as in a dbt build
    "b": ["c", "d"],
    "c": ["e"],
    "d": ["e", "f"],
    "e": [],
    "f": [],
    "g": ["f"],
    "h": [],
}
COSTS = {"a": 1.0, "t_a": 0.5, "b": 2.0, "c": 1.0, "d": 4.0, "e": 0.5, "f": 3.0, "g": 9.0, "h": 0.1}


def _most_costly_path(node: str) -> float:
    """Independent of upward_ranks: every path from the node to a sink, summed, the max."""
    paths = [[node]]
    best = 0.0
    while paths:
        path = paths.pop()
        following = GRAPH[path[-1]]
        if not following:
            best = max(best, sum(COSTS[n] for n in path))
        paths += [[*path, n] for n in following]
    return best


def _topological(graph: dict[str, list[str]]) -> list[str]:
    order: list[str] = []
    seen: set[str] = set()

    def visit(node: str) -> None:
        if node not in seen:
            seen.add(node)
            for after in graph[node]:
                visit(after)
            order.append(node)

    for node in sorted(graph):
        visit(node)
    return order[::-1]


def test_ranks_are_the_most_costly_path_to_a_sink():
    ranks = dbt_schedule.upward_ranks(_topological(GRAPH), GRAPH.__getitem__, COSTS.__getitem__)
    assert ranks == {node: pytest.approx(_most_costly_path(node)) for node in GRAPH}
    # a: a -> b -> d -> f = 1 + 2 + 4 + 3; the costly root g (9 + 3) still comes first
    assert ranks["a"] == pytest.approx(10.0) and ranks["g"] == pytest.approx(12.0)


def test_unmeasured_nodes_count_by_their_kind():
    cost = dbt_schedule.node_cost({"model.p.measured": 7.5})
    assert cost("model.p.measured") == 7.5
    assert cost("model.p.other") == dbt_schedule.DEFAULT_COSTS["model"]
    assert cost("test.p.unique_x") == dbt_schedule.DEFAULT_COSTS["test"]
    assert cost("operation.p.hook") == dbt_schedule.OTHER_COST


def _run_results(target: Path, times: dict[str, tuple[float, str]]) -> None:
    results = [{"unique_id": u, "execution_time": s, "status": st} for u, (s, st) in times.items()]
    (target / "run_results.json").write_text(json.dumps({"results": results}))


def test_costs_are_merged_run_after_run(tmp_path):
    _run_results(tmp_path, {"model.p.a": (3.0, "success"), "model.p.b": (1.0, "success")})
    assert dbt_schedule.measured_costs(tmp_path) == {"model.p.a": 3.0, "model.p.b": 1.0}
    # a run of one node, and one skipped: the other node keeps its time, a skip teaches nothing
    _run_results(tmp_path, {"model.p.a": (5.0, "success"), "model.p.b": (0.0, "skipped")})
    assert dbt_schedule.measured_costs(tmp_path) == {"model.p.a": 5.0, "model.p.b": 1.0}
    stored = json.loads((tmp_path / dbt_schedule.COSTS_FILE).read_text())
    assert stored == {"model.p.a": 5.0, "model.p.b": 1.0}


def test_unreadable_files_leave_the_defaults(tmp_path):
    (tmp_path / "run_results.json").write_text("{not json")
    (tmp_path / dbt_schedule.COSTS_FILE).write_text('["a list"]')
    assert dbt_schedule.measured_costs(tmp_path) == {}
    assert dbt_schedule.measured_costs(tmp_path / "missing") == {}


# ---- real dbt: one thread runs the queue in its priority order ----

SIDE = ("a1", "a2", "a3")  # three models at depth 0, sinks
CHAIN = ("z1", "z2", "z3")  # a chain: z1 -> z2 -> z3


def _project(root: Path) -> Path:
    project = root / "project"
    (project / "models").mkdir(parents=True)
    (project / "dbt_project.yml").write_text(
        "name: sched\nversion: '1.0.0'\nconfig-version: 2\nprofile: sched\n"
        "models:\n  sched:\n    +materialized: view\n"
    )
    (project / "profiles.yml").write_text(
        "sched:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n"
        f"      path: {root / 'sched.duckdb'}\n      threads: 1\n"
    )
    for name in SIDE:
        (project / "models" / f"{name}.sql").write_text("select 1 as x")
    (project / "models" / "z1.sql").write_text("select 1 as x")
    (project / "models" / "z2.sql").write_text("select x from {{ ref('z1') }}")
    (project / "models" / "z3.sql").write_text("select x from {{ ref('z2') }}")
    return project


def _order(project: Path, env: dict[str, str], monkeypatch) -> list[str]:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    result = run_dbt(["run"], None, project_dir=project)
    assert result.returncode == 0, result.stdout + result.stderr
    results = json.loads((project / "target" / "run_results.json").read_text())["results"]
    started = {r["unique_id"].split(".")[-1]: r["timing"][0]["started_at"] for r in results}
    return sorted(started, key=started.__getitem__)


def _plant_costs(project: Path, costs: dict[str, float]) -> None:
    """Costs as if measured before; no run_results.json to merge over them."""
    target = project / "target"
    target.mkdir(exist_ok=True)
    (target / "run_results.json").unlink(missing_ok=True)
    (target / dbt_schedule.COSTS_FILE).write_text(json.dumps(costs))


@pytest.mark.parametrize("forkserver", ["1", "0"], ids=["fork-server", "plain-child"])
def test_one_thread_runs_the_longest_chain_first(tmp_path, monkeypatch, forkserver):
    project = _project(tmp_path)
    env = {"LAWN_DBT_FORKSERVER": forkserver}
    equal = {f"model.sched.{n}": 1.0 for n in SIDE + CHAIN}
    # dbt's own order: by depth, then by name
    _plant_costs(project, equal)
    assert _order(project, {**env, dbt_schedule.ENV_SWITCH: "0"}, monkeypatch) == [
        "a1", "a2", "a3", "z1", "z2", "z3"
    ]  # fmt: skip
    # critical path, every model 1 s: z1 has three to go, z2 two, the rest one (ties by name)
    _plant_costs(project, equal)
    assert _order(project, {**env, dbt_schedule.ENV_SWITCH: "1"}, monkeypatch) == [
        "z1", "z2", "a1", "a2", "a3", "z3"
    ]  # fmt: skip
    # the next run reads this run's times (run_results.json) over the stored ones
    measured = dbt_schedule.measured_costs(project / "target")
    assert set(measured) == set(equal) and all(measured[n] != 1.0 for n in equal)
    assert json.loads((project / "target" / dbt_schedule.COSTS_FILE).read_text()) == measured


def test_a_measured_costly_side_model_goes_before_the_chain(tmp_path, monkeypatch):
    project = _project(tmp_path)
    _plant_costs(project, {f"model.sched.{n}": 0.01 for n in SIDE + CHAIN} | {"model.sched.a2": 60.0})
    order = _order(project, {dbt_schedule.ENV_SWITCH: "1"}, monkeypatch)
    assert order[0] == "a2" and order[1] == "z1"


def test_the_patch_is_in_place_for_the_pinned_dbt():
    assert dbt_schedule.install() is True
    import dbt.task.runnable

    assert dbt.task.runnable.GraphRunnableTask._runtime_initialize.__module__ == "lawn.dbt_schedule"
    assert os.environ.get(dbt_schedule.ENV_SWITCH, "1") != "0"


def test_a_node_is_handed_out_only_when_a_thread_is_free():
    """dbt's loop would move every ready node into the pool's first-in first-out queue: with
    two threads, a third `get` waits until a node is marked done, and then takes the best
    node ready at that moment (here one that became ready meanwhile)."""
    import queue
    import threading

    class Queue:
        def __init__(self) -> None:
            self.ready: queue.PriorityQueue = queue.PriorityQueue()
            self.done: list[str] = []

        def get(self) -> str:
            return self.ready.get()[1]

        def mark_done(self, node: str) -> None:
            self.done.append(node)

    jobs = Queue()
    for score, node in ((0, "first"), (1, "second"), (5, "low")):
        jobs.ready.put((score, node))
    dbt_schedule.hand_out_when_free(jobs, 2)
    assert [jobs.get(), jobs.get()] == ["first", "second"]
    taken: list[str] = []
    waiting = threading.Thread(target=lambda: taken.append(jobs.get()))
    waiting.start()
    waiting.join(0.5)
    assert waiting.is_alive() and taken == []  # both threads busy: nothing handed out
    jobs.ready.put((-1, "urgent"))  # became ready while the threads were busy
    jobs.mark_done("first")
    waiting.join(5)
    assert taken == ["urgent"] and jobs.done == ["first"]
