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
