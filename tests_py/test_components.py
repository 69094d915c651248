"""The connected-components macro, in a scratch dbt project: correct on a 1,000-node chain
in shuffled order and on cycles (checked against a Python union-find), and failing loudly
when the iteration cap is too low instead of returning a partial answer."""

from __future__ import annotations

import itertools
import random
import shutil
import subprocess

import duckdb
import pytest

from lawn.dbt_runner import run_dbt
from lawn.paths import REPO_ROOT


def _union_find(edges: list[tuple[str, str]]) -> dict[str, str]:
    parent: dict[str, str] = {}

    def find(node: str) -> str:
        parent.setdefault(node, node)
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    for a, b in edges:
        root_a, root_b = find(a), find(b)
        if root_a != root_b:
            parent[max(root_a, root_b)] = min(root_a, root_b)
    return {node: find(node) for node in list(parent)}


def _graph() -> list[tuple[str, str]]:
    rng = random.Random(4)
    chain = [f"n{i:04d}" for i in range(1000)]
    rng.shuffle(chain)  # the smallest label starts somewhere in the middle
    edges = list(itertools.pairwise(chain))
    cycle = [f"c{i}" for i in range(12)]
    edges += list(zip(cycle, cycle[1:] + cycle[:1], strict=True))  # a ring
    edges += [("t1", "t2"), ("t2", "t3"), ("t3", "t1"), ("t3", "t4")]  # triangle with a tail
    edges += [("solo", "solo")]
    rng.shuffle(edges)
    return edges


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = tmp_path_factory.mktemp("components")
    shutil.copytree(REPO_ROOT / "macros", root / "macros")
    (root / "seeds").mkdir()
    (root / "models").mkdir()
    (root / "dbt_project.yml").write_text(
        "name: components\nversion: '1.0.0'\nconfig-version: 2\nprofile: components\n"
        "vars:\n  identity_max_iterations: 60\n"
        "dispatch:\n  - macro_namespace: lawn\n    search_order: [components]\n"
    )
    (root / "profiles.yml").write_text(
        f"components:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n"
        f"      path: {root / 'scratch.duckdb'}\n"
    )
    lines = ["node_a,node_b"] + [f"{a},{b}" for a, b in _graph()]
    (root / "seeds" / "edges.csv").write_text("\n".join(lines) + "\n")
    (root / "models" / "components.sql").write_text(
        "{{ config(materialized='table') }}\n"
        "select node, component from {{ connected_components(ref('edges'), 'labels') }}\n"
    )
    return root


def _build(project, *extra: str) -> subprocess.CompletedProcess:
    return run_dbt(["build", *extra], None, project_dir=project)


def test_chain_and_cycles_match_union_find(project):
    result = _build(project)
    assert result.returncode == 0, result.stdout[-3000:]
    with duckdb.connect(str(project / "scratch.duckdb"), read_only=True) as con:
        labels = dict(con.execute("select node, component from main.components").fetchall())
    expected = _union_find(_graph())
    assert labels == expected
    assert labels["n0999"] == "n0000" and labels["c7"] == "c0" and labels["t4"] == "t1"
    assert len(set(labels.values())) == 4


def test_too_low_iteration_cap_fails_loudly(project):
    result = _build(project, "--vars", "{identity_max_iterations: 3}")
    assert result.returncode != 0
    assert "did not converge within 3 iterations" in result.stdout
