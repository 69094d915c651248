"""Longest test files first, so that the two xdist workers of `scripts/test.sh` finish together.

`pytest -n 2 --dist loadfile --no-loadscope-reorder` hands whole files to the workers in
collection order (without `--no-loadscope-reorder`, xdist orders files by their number of
tests, which put the few-test, many-minute Spark and PostgreSQL files last and left one
worker idle for minutes at the end). `file_costs.csv` holds each file's measured seconds
(setup + call + teardown summed over its tests, from a full run's `--durations=0`; where it
came from is in its header). A file missing from the table (a new one) goes first: it costs
at most its own time at the start, while a slow file put last can idle a worker for all of it.
The table only orders: a stale or missing row never skips or fails a test."""

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


def file_of(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


def longest_files_first(items: Sequence[Item], costs: dict[str, float]) -> list[Item]:
    """The items with their files ordered by cost, dearest first (unknown files before all);
    a file's items keep their order and stay together, equal costs keep collection order."""
    first_seen: dict[str, int] = {}
    for item in items:
        first_seen.setdefault(file_of(item.nodeid), len(first_seen))

    def key(item: Item) -> tuple[float, int]:
        name = file_of(item.nodeid)
        return (-costs.get(name, float("inf")), first_seen[name])

    return sorted(items, key=key)
