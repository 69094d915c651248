"""The landing tables are defined once (the source YAML): the dbt hook's tables, Python's DDL
and the definition agree column for column; no Python module restates a landing table's
columns; the nightly's lineage selection covers the project exactly once and builds nothing
before the step that writes its inputs (checked against the manifest's graph, walked here)."""

from __future__ import annotations

import ast
import json
from collections import deque
from pathlib import Path

import duckdb
import pytest

from lawn import dbt_runner
from lawn.landing import (
    DUCKDB_TYPES,
    LandingError,
    LandingTable,
    _table,
    landing_tables,
    nightly_selection,
)
from lawn.paths import REPO_ROOT

LAWN_DIR = REPO_ROOT / "lawn"


def _columns(db: Path) -> dict[str, list[tuple[str, str]]]:
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute(
            "select table_schema || '.' || table_name, column_name, data_type "
            "from information_schema.columns where table_schema in ('ml', 'ops') "
            "order by table_schema, table_name, ordinal_position"
        ).fetchall()
    found: dict[str, list[tuple[str, str]]] = {}
    for relation, column, kind in rows:
        found.setdefault(relation, []).append((column, kind.lower()))
    return found


@pytest.fixture(scope="module")
def hook_tables(tmp_path_factory) -> dict[str, list[tuple[str, str]]]:
    """A new, empty warehouse after one dbt command: the on-run-start hook created the tables
    (`dbt seed` of one small seed runs the hooks and needs no identity key)."""
    work = tmp_path_factory.mktemp("landing_hook")
    db = work / "hook.duckdb"
    result = dbt_runner.run_dbt(["seed", "--select", "action_rules"], db, target_path=work / "target")
    assert result.returncode == 0, result.stdout[-3000:]
    return _columns(db)


def test_the_hook_python_ddl_and_the_definition_agree(hook_tables, tmp_path):
    definition = {
        relation: [(name, DUCKDB_TYPES[kind]) for name, kind in table.columns]
        for relation, table in landing_tables().items()
    }
    assert len(definition) == 14 and "ml.bandit_assignments" in definition
    assert hook_tables == definition
    python_db = tmp_path / "python.duckdb"
    with duckdb.connect(str(python_db)) as con:
        for table in landing_tables().values():
            con.execute(table.duckdb_ddl())
    assert _columns(python_db) == definition


def test_a_python_insert_fills_every_defined_column_by_name(tmp_path):
    """insert_sql matches columns by name (a frame in another order lands right), and a frame
    that lacks a defined column is an error, not an empty column."""
    import pandas as pd

    table = landing_tables()["ops.action_reversals"]
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        con.execute(table.duckdb_ddl())
        frame = pd.DataFrame(
            {
                "reason": ["typo"],
                "reverted_by": ["ana"],
                "action_id": ["act_1"],
                "reverted_at": [pd.Timestamp("2026-03-01 10:00")],
            }
        )
        con.register("frame", frame)
        con.execute(table.insert_sql("frame"))
        assert con.execute("select action_id, reverted_by, reason from ops.action_reversals").fetchall() == [
            ("act_1", "ana", "typo")
        ]
        con.register("short", frame.drop(columns="reason"))
        with pytest.raises(duckdb.BinderException):
            con.execute(table.insert_sql("short"))


def test_a_malformed_definition_is_a_one_line_error():
    source = {"name": "ml", "schema": "ml"}
    table = {
        "name": "churn_scores",
        "config": {"meta": {"landing": {"nightly_step": "score"}}},
        "columns": [{"name": "account_id", "data_type": "text"}],
    }
    with pytest.raises(
        LandingError, match=r"_ml__sources.yml: ml.churn_scores, column account_id: data_type 'text'"
    ):
        _table(source, table, Path("_ml__sources.yml"))
    table["columns"] = [{"name": "account_id", "data_type": "string"}]
    table["config"]["meta"]["landing"]["nightly_step"] = "report"
    with pytest.raises(LandingError, match="nightly_step 'report'"):
        _table(source, table, Path("_ml__sources.yml"))
    table["config"]["meta"]["landing"]["nightly_step"] = "score"
    assert _table(source, table, Path("x")) == LandingTable(
        "ml", "churn_scores", "ml", (("account_id", "string"),), "score"
    )
    assert _table(source, {"name": "raw_events", "columns": []}, Path("x")) is None  # not landing


def _sql_strings(path: Path) -> list[str]:
    """Every string literal of a module (f-string parts included), docstrings left out."""
    tree = ast.parse(path.read_text())
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.FunctionDef | ast.ClassDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
    ]


def test_no_python_module_restates_a_landing_tables_columns():
    """Inserts and DDL of landing tables go through lawn/landing.py; a literal
    `insert into ml.x (...)` or `create table ... ops.x` elsewhere is a second definition."""
    import re

    relations = "|".join(re.escape(relation) for relation in landing_tables())
    pattern = re.compile(rf"(insert\s+into|create\s+table(\s+if\s+not\s+exists)?)\s+({relations})\b", re.I)
    offenders = [
        f"{path.name}: {match.group(0)}"
        for path in sorted(LAWN_DIR.glob("*.py"))
        for text in _sql_strings(path)
        for match in pattern.finditer(text)
    ]
    assert offenders == []
    # the scan does see SQL: the one table Python keeps to itself is found
    assert any(
        "create table if not exists ops.export_batches" in text
        for text in _sql_strings(LAWN_DIR / "actions.py")
    )


def _ls(args: list[str], work: Path) -> set[str]:
    result = dbt_runner.run_dbt(
        ["ls", "--output", "json", "--output-keys", "unique_id", *args], None, target_path=work / "target"
    )
    assert result.returncode == 0, result.stdout[-2000:]
    return {json.loads(line)["unique_id"] for line in result.stdout.splitlines() if line.startswith("{")}


def test_nightly_selection_builds_everything_once_and_after_its_inputs(tmp_path):
    """The four builds of a nightly (first build, after score, after bandit, after actions)
    are disjoint and together every node; each node is built in the last step that writes one of its
    upstream landing tables: the graph is walked here from the manifest's child map."""
    every = _ls(["--exclude-resource-type", "unit_test"], tmp_path)
    steps = {}
    for step in ("build", "score", "bandit", "actions"):
        select, exclude = nightly_selection(step)
        args = ["--exclude-resource-type", "unit_test"]
        args += ["--select", *select] if select else []
        args += ["--exclude", *exclude] if exclude else []
        steps[step] = _ls(args, tmp_path)
    assert set().union(*steps.values()) == every
    names = list(steps)
    assert not any(steps[a] & steps[b] for i, a in enumerate(names) for b in names[i + 1 :])
    manifest = json.loads((tmp_path / "target" / "manifest.json").read_text())
    children = manifest["child_map"]
    expected_step: dict[str, str] = {}
    for step in ("score", "bandit", "actions"):  # later steps win
        roots = [
            f"source.lawn.{t.source}.{t.name}" for t in landing_tables().values() if t.nightly_step == step
        ]
        assert roots
        queue, seen = deque(roots), set(roots)
        while queue:
            for child in children.get(queue.popleft(), []):
                if child not in seen:
                    seen.add(child)
                    queue.append(child)
        expected_step.update({node: step for node in seen if node in every})
    for step, nodes in steps.items():
        assert {node for node in nodes if expected_step.get(node, "build") != step} == set(), step
    # the scores' and the ledger's marts are where they must be, and no longer views
    assert "model.lawn.fct_next_best_actions" in steps["score"]
    assert {"model.lawn.fct_bandit_assignments", "model.lawn.fct_bandit_readout"} <= steps["bandit"]
    assert {"model.lawn.fct_action_exports", "model.lawn.fct_growth_system_health"} <= steps["actions"]
    nodes = manifest["nodes"]
    for name in ("fct_action_exports", "fct_growth_system_health"):
        assert nodes[f"model.lawn.{name}"]["config"]["materialized"] == "table"
