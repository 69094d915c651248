"""The connected-components macro, in a scratch dbt project: correct on a 1,000-node chain
in shuffled order, on cycles and on an edge with a missing end (checked against a Python
union-find), the same on PostgreSQL and on Spark when they are there (skipped without them
locally, failing in CI), leaving no scratch table behind, and failing loudly when the
iteration cap is too low instead of returning a partial answer."""

from __future__ import annotations

import itertools
import os
import random
import shutil
import subprocess

import duckdb
import pytest

from lawn.dbt_runner import dbt_invocation, run_dbt
from lawn.paths import REPO_ROOT
from lawn.postgres import pg_login, reachable
from lawn.spark import java_problem
from tests_py.pg_harness import env_file_settings

PG_SCHEMA = "lawn_components_test"


def _union_find(edges: list[tuple[str, str | None]]) -> dict[str, str]:
    parent: dict[str, str] = {}

    def find(node: str) -> str:
        parent.setdefault(node, node)
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    for a, b in edges:
        if b is None:  # a missing end is no edge; the other end is still a node
            find(a)
            continue
        root_a, root_b = find(a), find(b)
        if root_a != root_b:
            parent[max(root_a, root_b)] = min(root_a, root_b)
    return {node: find(node) for node in list(parent)}


def _graph() -> list[tuple[str, str | None]]:
    rng = random.Random(4)
    chain = [f"n{i:04d}" for i in range(1000)]
    rng.shuffle(chain)  # the smallest label starts somewhere in the middle
    edges = list(itertools.pairwise(chain))
    cycle = [f"c{i}" for i in range(12)]
    edges += list(zip(cycle, cycle[1:] + cycle[:1], strict=True))  # a ring
    edges += [("t1", "t2"), ("t2", "t3"), ("t3", "t1"), ("t3", "t4")]  # triangle with a tail
    edges += [("solo", "solo"), ("lonely", None)]  # a self-loop; an edge with a missing end
    rng.shuffle(edges)
    return edges


def write_scratch_project(root, schema: str = PG_SCHEMA) -> None:
    """The repository's macros, empty seeds/ and models/, and a profile with three targets:
    DuckDB on root/scratch.duckdb, PostgreSQL (`schema`, LAWN_PG_* settings) and a local
    Spark session under root/spark."""
    shutil.copytree(REPO_ROOT / "macros", root / "macros")
    (root / "seeds").mkdir()
    (root / "models").mkdir()
    (root / "dbt_project.yml").write_text(
        "name: components\nversion: '1.0.0'\nconfig-version: 2\nprofile: components\n"
        "vars:\n  identity_max_iterations: 60\n"
        "models:\n  components:\n    +file_format: parquet\n"  # Spark only; others ignore it
        "seeds:\n  components:\n    +file_format: parquet\n"
        "dispatch:\n  - macro_namespace: lawn\n    search_order: [components]\n"
    )
    (root / "profiles.yml").write_text(
        f"components:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n"
        f"      path: {root / 'scratch.duckdb'}\n"
        "    postgres:\n      type: postgres\n      threads: 1\n"
        "      host: \"{{ env_var('LAWN_PG_HOST', '127.0.0.1') }}\"\n"
        "      port: \"{{ env_var('LAWN_PG_PORT') | as_number }}\"\n"
        "      user: \"{{ env_var('LAWN_PG_USER', 'lawn_dbt') }}\"\n"
        "      password: \"{{ env_var('LAWN_PG_PASSWORD') }}\"\n"
        "      dbname: \"{{ env_var('LAWN_PG_DATABASE', 'lawn') }}\"\n"
        "      role: \"{{ env_var('LAWN_PG_ROLE', 'transformer') }}\"\n"
        f"      schema: {schema}\n"
        "    spark:\n      type: spark\n      method: session\n      host: localhost\n"
        f"      schema: {schema}\n      threads: 1\n      server_side_parameters:\n"
        "        spark.master: local[1]\n        spark.driver.memory: 1g\n"
        "        spark.sql.shuffle.partitions: '1'\n        spark.ui.enabled: 'false'\n"
        "        spark.sql.codegen.wholeStage: 'false'\n        spark.sql.adaptive.enabled: 'false'\n"
        f"        spark.sql.warehouse.dir: {root / 'spark' / 'warehouse'}\n"
        "        spark.hadoop.javax.jdo.option.ConnectionURL: "
        f"'jdbc:derby:;databaseName={root / 'spark' / 'metastore_db'};create=true'\n"
        f"        spark.driver.extraJavaOptions: '-Dderby.system.home={root / 'spark'}'\n"
        "        spark.sql.sources.default: parquet\n"
    )


def run_scratch_dbt(project, args: list[str], server: dict[str, str]) -> subprocess.CompletedProcess:
    """``dbt <args>`` on a scratch project (write_scratch_project) against a server's target,
    ``server`` holding its LAWN_PG_* settings; what dbt printed is captured."""
    invocation = dbt_invocation(args, None, project_dir=project, base_env={**os.environ, **server})
    return subprocess.run(
        invocation.command, env=invocation.env, cwd=invocation.cwd, capture_output=True, text=True
    )


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = tmp_path_factory.mktemp("components")
    write_scratch_project(root)
    lines = ["node_a,node_b"] + [f"{a},{b or ''}" for a, b in _graph()]
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
    assert labels["lonely"] == "lonely" and labels["solo"] == "solo"
    assert len(set(labels.values())) == 5
    with duckdb.connect(str(project / "scratch.duckdb"), read_only=True) as con:
        tables = {
            name for (name,) in con.execute("select table_name from information_schema.tables").fetchall()
        }
    assert tables == {"edges", "components", "components__labels"}  # the scratch tables are gone


def test_postgres_gives_the_union_find_labels(project):
    """The same macro and seed on a PostgreSQL server (scripts/postgres_ci.sh; skipped without
    one, failing in CI)."""
    env = {**env_file_settings(), **{k: v for k, v in os.environ.items() if k.startswith("LAWN_PG_")}}
    problem = reachable(pg_login("dbt", env)) if "LAWN_PG_PASSWORD" in env else "no LAWN_PG_PASSWORD"
    if problem:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI: no PostgreSQL server ({problem})")
        pytest.skip(f"no PostgreSQL server ({problem})")
    result = run_scratch_dbt(project, ["build", "--target", "postgres"], env)
    assert result.returncode == 0, result.stdout[-3000:]
    connection = pg_login("dbt", env).connect()
    try:
        with connection.cursor() as cursor:
            cursor.execute(f"select node, component from {PG_SCHEMA}.components")
            labels = dict(cursor.fetchall())
            cursor.execute(
                "select table_name from information_schema.tables where table_schema = %s",
                (PG_SCHEMA,),
            )
            tables = {name for (name,) in cursor.fetchall()}
    finally:
        connection.close()
    assert labels == _union_find(_graph())
    assert tables == {"edges", "components", "components__labels"}


def test_spark_gives_the_union_find_labels(project):
    """The same macro and seed on a local Spark session (Parquet tables, read back here from
    their files). The copied macros include the project's `spark__load_csv_rows`, which loads
    an empty cell as NULL (dbt-spark's own loader writes the text 'None', docs/spark.md)."""
    problem = java_problem()
    if problem:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI: no Spark ({problem})")
        pytest.skip(f"no Spark ({problem})")
    result = _build(project, "--target", "spark")
    assert result.returncode == 0, result.stdout[-3000:]
    warehouse = project / "spark" / "warehouse" / f"{PG_SCHEMA}.db"
    with duckdb.connect() as con:
        labels = dict(
            con.execute(
                "select node, component from read_parquet(?)",
                [str(warehouse / "components" / "*.parquet")],
            ).fetchall()
        )
    assert labels == _union_find(_graph())
    assert labels["lonely"] == "lonely"
    tables = {path.name for path in warehouse.iterdir() if path.is_dir()}
    assert tables == {"edges", "components", "components__labels"}


def test_too_low_iteration_cap_fails_loudly(project):
    result = _build(project, "--vars", "{identity_max_iterations: 3}")
    assert result.returncode != 0
    assert "did not converge within 3 iterations" in result.stdout
