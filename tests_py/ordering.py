"""Longest test files first, so that the two xdist workers of `scripts/test.sh` finish together.

`pytest -n 2 --dist loadfile --no-loadscope-reorder` hands whole files to the workers in
collection order (without `--no-loadscope-reorder`, xdist orders files by their number of
tests, which put the few-test, many-minute Spark and PostgreSQL files last and left one
worker idle for minutes at the end). `file_costs.csv` holds each file's measured seconds
(setup + call + teardown summed over its tests, from a full run's `--durations=0`; where it
came from is in its header). A file missing from the table (a new one) goes first: it costs
at most its own time at the start, while a slow file put last can idle a worker for all of it.
The table only orders: a stale or missing row never skips or fails a test.

Files that share a session fixture's world (``SHARED_WORLDS``: one build serves them all) are
one unit of work: ``scope_of`` names the group, conftest.py's scheduler (loadfile, scoped by
``scope_of``) sends the whole group to one worker, and the group is ordered by its summed cost
with its files in the listed order. Split over two workers, each would build the world."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, TypeVar

COSTS_FILE = Path(__file__).with_name("file_costs.csv")


class HasNodeId(Protocol):
    nodeid: str


Item = TypeVar("Item", bound=HasNodeId)


def load_costs(path: Path = COSTS_FILE) -> dict[str, float]:
    """Seconds per test file (its path from the repository root), from the committed table;
    empty when the table is missing."""
    if not path.exists():
        return {}
    with path.open(newline="") as handle:
        rows = csv.DictReader(line for line in handle if not line.startswith("#"))
        return {row["file"]: float(row["seconds"]) for row in rows}


# group name -> its files, in the order they run (docs/test_cost.md, "Shared worlds")
SHARED_WORLDS: dict[str, tuple[str, ...]] = {
    # the small world's nightly runs (tests_py/nightly_world.py, fixture `nightly_runs`)
    "nightly": ("tests_py/test_nightly.py", "tests_py/test_cadence_reports.py", "tests_py/test_dagster.py"),
}
_GROUP_OF = {name: group for group, files in SHARED_WORLDS.items() for name in files}


def file_of(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


def scope_of(nodeid: str, groups: dict[str, str] | None = None) -> str:
    """The unit of work of a test: its file, or ``world:<group>`` for a file of a shared world."""
    name = file_of(nodeid)
    group = (_GROUP_OF if groups is None else groups).get(name)
    return f"world:{group}" if group else name


def longest_files_first(
    items: Sequence[Item], costs: dict[str, float], groups: dict[str, tuple[str, ...]] | None = None
) -> list[Item]:
    """The items with their units of work (files, or the files of a shared world) ordered by
    cost, dearest first (a unit with a file missing from the table before all); a file's items
    keep their order and stay together, a group's files follow its list, equal costs keep
    collection order."""
    groups = SHARED_WORLDS if groups is None else groups
    group_of = {name: group for group, files in groups.items() for name in files}
    scope_seen: dict[str, int] = {}
    file_seen: dict[str, int] = {}
    scope_cost: dict[str, float] = {}
    for item in items:
        name, scope = file_of(item.nodeid), scope_of(item.nodeid, group_of)
        scope_seen.setdefault(scope, len(scope_seen))
        if name not in file_seen:
            file_seen[name] = len(file_seen)
            scope_cost[scope] = scope_cost.get(scope, 0.0) + costs.get(name, float("inf"))

    def key(item: Item) -> tuple[float, int, int, int]:
        name, scope = file_of(item.nodeid), scope_of(item.nodeid, group_of)
        group = group_of.get(name)
        rank = groups[group].index(name) if group else 0
        return (-scope_cost[scope], scope_seen[scope], rank, file_seen[name])

    return sorted(items, key=key)
