"""dbt's run queue ordered by critical path instead of by graph depth.

dbt's run loop takes every node off its queue as soon as the node is ready and passes it to
its thread pool, first in first out; the queue's priority (the node's topological depth,
``dbt.graph.queue.GraphQueue._get_scores``) only orders nodes that become ready together. In
a ``build`` every test of a model is also an edge to the nodes after it, so the long chain of
the event models, the identity graph, attribution and the features waits behind whatever else
is ready: the data tests of early models, side marts. The 10.2M one-day increment of d5db76e
had 28 s of such waits on its critical path (80 s of node time in a 108 s run), the full build
41 s (248 s in 289 s); docs/performance.md, "The run queue ordered by critical path".

:func:`install` makes the queue hand out first the ready node with the longest way still to go,
and only when a thread is free to run it (dbt's loop otherwise moves every ready node at once
into its thread pool's first-in first-out queue, where no priority applies):
its own expected time plus the longest chain of expected times after it (list scheduling by
"upward rank", the critical-path heuristic). Expected times are each node's last measured
``execution_time`` (``run_results.json`` of the target folder, merged run after run into
``lawn_node_costs.json`` beside it); a node never measured counts by its kind (`DEFAULT_COSTS`).
Only the order among nodes that are ready changes: dbt still runs a node only after every
node it depends on, tests included, so what a run builds and decides is the same.

Like lawn/dbt_artifacts.py this patches an internal of the pinned dbt-core (``~=1.11.16``):
when ``GraphRunnableTask._runtime_initialize`` or the queue's attributes it uses are missing,
nothing is patched and dbt orders its queue as shipped. It is installed in every process
that runs dbt for lawn (lawn/dbt_main.py, the fork server, in-process runs);
``LAWN_DBT_CRITICAL_PATH=0`` keeps dbt's order for a run."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

# the file beside run_results.json that keeps each node's last measured time across runs
COSTS_FILE = "lawn_node_costs.json"
# seconds expected of a node never measured, by resource type (the first segment of its id)
DEFAULT_COSTS = {"model": 1.0, "snapshot": 1.0, "seed": 0.3, "test": 0.2, "unit_test": 0.4}
OTHER_COST = 0.05  # operations (hooks), exposures, sources...

# "0" leaves dbt's own order (by depth), to compare the two or to rule the patch out
ENV_SWITCH = "LAWN_DBT_CRITICAL_PATH"

_STATE = {"installed": False}


def upward_ranks(
    nodes: Iterable[str], successors: Callable[[str], Iterable[str]], cost: Callable[[str], float]
) -> dict[str, float]:
    """Each node's own cost plus the most costly chain of successors after it.

    ``nodes`` must come in a topological order (every node before its successors)."""
    ranks: dict[str, float] = {}
    for node in reversed(list(nodes)):
        ranks[node] = cost(node) + max((ranks[after] for after in successors(node)), default=0.0)
    return ranks


def node_cost(costs: Mapping[str, float]) -> Callable[[str], float]:
    """A node's expected seconds: its measured time, else its kind's default."""

    def cost(unique_id: str) -> float:
        measured = costs.get(unique_id)
        if measured is not None:
            return measured
        return DEFAULT_COSTS.get(unique_id.split(".", 1)[0], OTHER_COST)

    return cost


def measured_costs(target: Path) -> dict[str, float]:
    """The last measured time of every node this target folder has seen run: the stored costs,
    updated with the previous run's ``run_results.json`` (written back, so a run of a few
    nodes does not forget the others). Unreadable files count as absent: the order is only a
    preference, a run never fails for it."""
    costs: dict[str, float] = {}
    stored = target / COSTS_FILE
    with contextlib.suppress(OSError, ValueError, TypeError, AttributeError):
        loaded = json.loads(stored.read_text())
        costs.update({str(k): float(v) for k, v in loaded.items() if isinstance(v, int | float)})
    latest: dict[str, float] = {}
    with contextlib.suppress(OSError, ValueError, TypeError, AttributeError):
        for result in json.loads((target / "run_results.json").read_text()).get("results", []):
            seconds = result.get("execution_time")
            if result.get("status") != "skipped" and isinstance(seconds, int | float) and seconds > 0:
                latest[str(result["unique_id"])] = float(seconds)
    if latest:
        costs.update(latest)
        with contextlib.suppress(OSError):
            scratch = stored.with_name(f".{COSTS_FILE}.{os.getpid()}")
            scratch.write_text(json.dumps(costs, sort_keys=True))
            os.replace(scratch, stored)
    return costs


def critical_path_scores(graph: Any, costs: Mapping[str, float]) -> dict[str, float]:
    """dbt queue scores (lower runs first) for ``graph`` (a networkx DiGraph): minus the rank."""
    import networkx as nx

    ranks = upward_ranks(nx.topological_sort(graph), graph.successors, node_cost(costs))
    return {node: -rank for node, rank in ranks.items()}


def reorder(queue: Any, target: Path) -> None:
    """Give ``queue`` (a fresh dbt GraphQueue, no node handed out yet) critical-path scores and
    queue its ready nodes again under them."""
    from queue import PriorityQueue

    queue._scores = critical_path_scores(queue.graph, measured_costs(target))
    queue.inner = PriorityQueue()
    queue.queued = set()
    queue._find_new_additions(list(queue.graph.nodes()))


def hand_out_when_free(queue: Any, threads: int) -> None:
    """Let ``queue`` hand out a node only when one of the ``threads`` is free.

    dbt's run loop takes every ready node off the queue at once and passes it to its thread
    pool, whose own queue is first-in first-out: the priority would then only order nodes
    that became ready at the same moment. With one slot per thread, taken by ``get`` and
    given back by ``mark_done``, the loop waits for a free thread and then takes the ready
    node of the highest priority at that moment."""
    import threading

    slots = threading.Semaphore(max(1, threads))
    get, mark_done = queue.get, queue.mark_done

    def get_when_free(*args: Any, **kwargs: Any) -> Any:
        slots.acquire()
        try:
            return get(*args, **kwargs)
        except BaseException:
            slots.release()
            raise

    def mark_done_and_free(node_id: str) -> None:
        try:
            mark_done(node_id)
        finally:
            slots.release()

    queue.get = get_when_free
    queue.mark_done = mark_done_and_free


def install() -> bool:
    """Patch this process's dbt (once); whether the patch is in place."""
    if _STATE["installed"]:
        return True
    try:
        import dbt.graph.queue as graph_queue
        import dbt.task.runnable as runnable
    except ImportError:
        return False
    task = getattr(runnable, "GraphRunnableTask", None)
    original = getattr(task, "_runtime_initialize", None)
    queue_class = getattr(graph_queue, "GraphQueue", None)
    needed = ("_find_new_additions", "get", "mark_done")  # what reorder and the slots use
    if original is None or queue_class is None or not all(hasattr(queue_class, n) for n in needed):
        return False

    def _runtime_initialize(self: Any) -> None:
        original(self)
        if os.environ.get(ENV_SWITCH, "1").strip() == "0":
            return
        queue = getattr(self, "job_queue", None)
        target = getattr(getattr(self, "config", None), "project_target_path", None)
        if isinstance(queue, queue_class) and target is not None and not queue.in_progress:
            reorder(queue, Path(target))
            hand_out_when_free(queue, int(getattr(self.config, "threads", 1) or 1))

    task._runtime_initialize = _runtime_initialize
    _STATE["installed"] = True
    return True
