"""The identity benchmark's three methods (our connected-components macro through dbt, scipy,
splink) agree on small versions of its graphs; the graphs have the shapes they claim."""

from __future__ import annotations

import importlib.util

import pytest

from lawn.paths import REPO_ROOT

spec = importlib.util.spec_from_file_location(
    "identity_benchmark", REPO_ROOT / "scripts" / "identity_benchmark.py"
)
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)


def test_graph_shapes():
    chains = bench.make_graph("chains", 30)
    assert len(chains) == 20 * 29
    star = bench.make_graph("star", 500)
    assert star["node_a"].nunique() == 1 and star["node_b"].nunique() == 500
    labels, _ = bench.run_scipy(chains)
    assert labels.nunique() == 20 and len(labels) == 600


@pytest.mark.parametrize("kind, size", [("random", 3000), ("chains", 60), ("star", 400)])
def test_macro_scipy_and_splink_agree(kind, size, tmp_path):
    result = bench.compare(kind, size, tmp_path)
    assert result["all_agree"], result
    assert result["nodes"] > size / 2
    rounds, jumps = (int(part) for part in result["rounds/jumps"].split("/"))  # as the macro logged
    assert rounds >= 1 and jumps >= 0  # a star needs no jump: every leaf hooks to the hub
    assert 0 < result["macro_s"] < result["dbt_wall_s"]  # the model node, inside dbt's whole run


def test_the_timed_node_runs_after_the_warmup_in_the_same_run(tmp_path):
    """dbt's first table model of a process renders the materialization's templates; the
    warm-up model takes that cost, so it must run, and finish, before the timed node."""
    import json

    bench.compare("star", 50, tmp_path)
    results = json.loads((tmp_path / "target" / "run_results.json").read_text())["results"]
    order = [node["unique_id"] for node in results if node["unique_id"].startswith("model.")]
    assert order == ["model.lawn.bench_identity_warmup", "model.lawn.bench_identity_components"]
    finished = {
        node["unique_id"]: node["timing"][-1]["completed_at"] for node in results
        if node["unique_id"].startswith("model.")
    }  # fmt: skip
    started = next(
        node["timing"][0]["started_at"] for node in results
        if node["unique_id"] == "model.lawn.bench_identity_components"
    )  # fmt: skip
    assert finished["model.lawn.bench_identity_warmup"] <= started
