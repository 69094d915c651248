"""Identity benchmark (issue 18 item 3): the connected-components macro that builds lawn's
identity graph, against scipy.sparse.csgraph.connected_components and splink's
cluster_pairwise_predictions_at_threshold, on the same graphs; all three must agree.

Graphs: ``random`` (E random edges between 2E possible nodes, ids as text like identifiers),
``chains`` (20 chains of 1,000 nodes each: the deepest case for label propagation) and ``star``
(one hub with 20,000 leaves). The macro runs through dbt (model bench_identity_components,
enabled by var identity_benchmark) on its own DuckDB file; its time is the model's
execution_time in run_results.json: the macro runs while dbt renders the model (the node's
`compile` step), so that time holds every query of the macro plus the model's own table, and
none of dbt's start-up, parsing and hooks (the whole `dbt run` is printed as dbt_wall_s). The
same run first builds bench_identity_warmup, a one-row table: the first table model of a dbt
process pays about 50-90 ms to render the table materialization's templates, which is dbt's
warm-up, not the macro's work (it was a third of the star's 0.34 s on 2026-12-04). An
earlier version subtracted a one-edge run's wall time from the big run's; on a loaded machine
dbt's start-up alone varied by more than the macro's work, and the difference came out
negative. scipy's time includes mapping the text ids to integers and back; splink's is its
clustering call, the result read into pandas.
Each row prints the rounds and jumps the macro logged, and the ratios `macro / splink` and
`macro / scipy` of that one run; the load average is printed first (the machine is shared).

Usage: .venv/bin/python scripts/identity_benchmark.py [--edges 1000000] [--out data/bench/identity]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from lawn.dbt_runner import run_dbt  # noqa: E402
from lawn.identity_key import install_key, local_dev_key  # noqa: E402


def make_graph(kind: str, size: int, seed: int = 0) -> pd.DataFrame:
    """Edges (node_a, node_b) as text ids."""
    rng = np.random.default_rng(seed)
    if kind == "random":
        a, b = rng.integers(0, 2 * size, size), rng.integers(0, 2 * size, size)
    elif kind == "chains":  # 20 chains of `size` nodes, numbered so labels must travel far
        chain, step = np.repeat(np.arange(20), size - 1), np.tile(np.arange(size - 1), 20)
        a, b = chain * size + step, chain * size + step + 1
        a, b = a[::-1], b[::-1]
    elif kind == "star":
        a, b = np.zeros(size, dtype=int), np.arange(1, size + 1)
    else:
        raise ValueError(f"unknown graph kind {kind!r}")
    width = len(str(int(max(a.max(), b.max()))))
    return pd.DataFrame({"node_a": [f"n{x:0{width}d}" for x in a], "node_b": [f"n{x:0{width}d}" for x in b]})


def canonical(labels: pd.DataFrame, node: str, label: str) -> pd.Series:
    """Node -> smallest node of its group, whatever the method's own label was."""
    smallest = labels.groupby(label)[node].transform("min")
    return pd.Series(smallest.to_numpy(), index=labels[node].to_numpy()).sort_index()


def run_scipy(edges: pd.DataFrame) -> tuple[pd.Series, float]:
    start = time.perf_counter()
    codes, nodes = pd.factorize(pd.concat([edges["node_a"], edges["node_b"]], ignore_index=True))
    half = len(edges)
    graph = coo_matrix((np.ones(half), (codes[:half], codes[half:])), shape=(len(nodes), len(nodes)))
    _, label = connected_components(graph, directed=False)
    result = canonical(pd.DataFrame({"node": nodes, "label": label}), "node", "label")
    return result, time.perf_counter() - start


def run_splink(edges: pd.DataFrame) -> tuple[pd.Series, float]:
    from splink import DuckDBAPI
    from splink.clustering import cluster_pairwise_predictions_at_threshold

    nodes = pd.DataFrame({"unique_id": pd.unique(pd.concat([edges["node_a"], edges["node_b"]]))})
    pairs = edges.rename(columns={"node_a": "unique_id_l", "node_b": "unique_id_r"})
    start = time.perf_counter()
    clusters = cluster_pairwise_predictions_at_threshold(
        nodes, pairs, DuckDBAPI(), "unique_id"
    ).as_pandas_dataframe()
    elapsed = time.perf_counter() - start
    return canonical(clusters, "unique_id", "cluster_id"), elapsed


ROUNDS = re.compile(r"connected_components\(labels\): (\d+) rounds, (\d+) jumps")


def run_macro(edges: pd.DataFrame, work: Path) -> tuple[pd.Series, float, float, str]:
    """(labels, the model node's seconds from run_results.json, dbt's whole wall time,
    "rounds/jumps" as the macro logged them)."""
    work.mkdir(parents=True, exist_ok=True)
    db_path = work / "identity_bench.duckdb"
    db_path.unlink(missing_ok=True)
    with duckdb.connect(str(db_path)) as con:
        con.execute("create schema benchmark")
        con.register("edges_frame", edges)
        con.execute("create table benchmark.identity_edges as select * from edges_frame")
    install_key(db_path, local_dev_key(work / "identity_hash.key"))
    start = time.perf_counter()
    result = run_dbt(
        ["run"], db_path, select=["bench_identity_warmup", "bench_identity_components"],
        dbt_vars={"identity_benchmark": True},
        target_path=work / "target",
    )  # fmt: skip
    wall = time.perf_counter() - start
    if result.returncode != 0:
        raise RuntimeError(f"dbt run failed:\n{result.stdout[-3000:]}")
    found = ROUNDS.search(result.stdout)
    run_results = json.loads((work / "target" / "run_results.json").read_text())
    (node_s,) = [
        node["execution_time"] for node in run_results["results"]
        if node["unique_id"] == "model.lawn.bench_identity_components"
    ]  # fmt: skip
    with duckdb.connect(str(db_path), read_only=True) as con:
        labels = con.execute("select node, component from benchmark.bench_identity_components").df()
    rounds = f"{found[1]}/{found[2]}" if found else "?"
    return canonical(labels, "node", "component"), node_s, wall, rounds


def compare(kind: str, size: int, work: Path) -> dict:
    edges = make_graph(kind, size)
    ours, ours_s, dbt_wall, rounds = run_macro(edges, work)
    reference, scipy_s = run_scipy(edges)
    splink_labels, splink_s = run_splink(edges)
    agree = ours.equals(reference) and splink_labels.equals(reference)
    return {
        "graph": kind, "edges": len(edges), "nodes": len(reference), "components": reference.nunique(),
        "rounds/jumps": rounds, "macro_s": ours_s, "dbt_wall_s": dbt_wall, "scipy_s": scipy_s,
        "splink_s": splink_s, "macro / splink": ours_s / splink_s, "macro / scipy": ours_s / scipy_s,
        "all_agree": agree,
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--edges", type=int, default=1_000_000, help="edges of the random graph")
    parser.add_argument("--chain-length", type=int, default=1_000)
    parser.add_argument("--star-leaves", type=int, default=20_000)
    parser.add_argument("--out", type=Path, default=REPO / "data" / "bench" / "identity")
    args = parser.parse_args()
    print("load average (1, 5, 15 min) at start: " + ", ".join(f"{v:.2f}" for v in os.getloadavg()))
    rows = [
        compare("random", args.edges, args.out),
        compare("chains", args.chain_length, args.out),
        compare("star", args.star_leaves, args.out),
    ]
    table = pd.DataFrame(rows)
    print(table.to_string(index=False, float_format=lambda v: f"{v:.2f}"))
    print("load average (1, 5, 15 min) at end: " + ", ".join(f"{v:.2f}" for v in os.getloadavg()))
    if not table["all_agree"].all():
        sys.exit("the three methods disagree")


if __name__ == "__main__":
    main()
