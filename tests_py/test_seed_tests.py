"""lawn/seed_tests.py: the data tests that read only seeds are left out of a build while the
project, vars and target are those they passed under, and run again on any change.

Unit cases on hand-made manifests and artefacts (which tests count as seed-only, when a record
is written, what it holds), the fingerprint on a small project folder, and one real case on a
copy of the project: the seeds and what only they feed, built twice (the second run leaves the
tests out and still loads the seeds), then a registry seed edited to repeat a key (its tests
run again and the unique test fails, so the broken seed is never hidden by the record)."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pandas as pd
import pytest

from lawn import seed_tests
from lawn.dbt_runner import run_dbt
from lawn.identity_key import install_key
from lawn.paths import DEMO_RAW_DIR, REPO_ROOT
from lawn.validate_raw import load_raw

# --- which tests read only seeds --------------------------------------------------------------


def _node(kind: str, *parents: str, name: str = "") -> dict:
    return {"resource_type": kind, "name": name, "depends_on": {"nodes": list(parents)}}


MANIFEST = {
    "nodes": {
        "seed.p.rules": _node("seed", name="rules"),
        "seed.p.arms": _node("seed", name="arms"),
        "model.p.dim_arms": _node("model", "seed.p.rules", "seed.p.arms", name="dim_arms"),
        "model.p.stg_events": _node("model", "source.p.raw.events", name="stg_events"),
        "model.p.fct": _node("model", "model.p.stg_events", "seed.p.rules", name="fct"),
        "model.p.calendar": _node("model", name="calendar"),  # no parents: may read anything
        "model.p.on_calendar": _node("model", "model.p.calendar", name="on_calendar"),
        "test.p.unique_rules": _node("test", "seed.p.rules", name="unique_rules"),
        "test.p.arms_key": _node("test", "model.p.dim_arms", name="arms_key"),
        "test.p.arms_rule": _node("test", "model.p.dim_arms", "seed.p.rules", name="arms_rule"),
        "test.p.fct_rule": _node("test", "model.p.fct", "seed.p.rules", name="fct_rule"),
        "test.p.events_key": _node("test", "model.p.stg_events", name="events_key"),
        "test.p.calendar_key": _node("test", "model.p.on_calendar", name="calendar_key"),
        "test.p.parentless": _node("test", name="parentless"),
    }
}


def test_seed_only_tests_are_those_whose_every_parent_comes_from_seeds_alone():
    assert seed_tests.seed_only_tests(MANIFEST) == {
        "test.p.unique_rules": "unique_rules",
        "test.p.arms_key": "arms_key",
        "test.p.arms_rule": "arms_rule",
    }


def test_a_test_sharing_its_name_with_another_node_is_never_left_out():
    # `--exclude arms_key` would leave out a model or unit test of that name as well
    clash = {**MANIFEST["nodes"], "model.p.arms_key": _node("model", "seed.p.arms", name="arms_key")}
    assert "test.p.arms_key" not in seed_tests.seed_only_tests({"nodes": clash})
    unit = {"unit_test.p.x.unique_rules": {"name": "unique_rules"}}
    assert "test.p.unique_rules" not in seed_tests.seed_only_tests({**MANIFEST, "unit_tests": unit})


# --- the fingerprint --------------------------------------------------------------------------


def _project(root: Path) -> Path:
    (root / "seeds").mkdir(parents=True)
    (root / "macros").mkdir()
    (root / "seeds" / "rules.csv").write_text("rule_id\nr1\nr2\n")
    (root / "macros" / "m.sql").write_text("{% macro m() %}1{% endmacro %}\n")
    (root / "dbt_project.yml").write_text("name: p\n")
    return root


def test_the_fingerprint_follows_files_vars_and_target(tmp_path):
    project = _project(tmp_path / "p")
    base = seed_tests.fingerprint(project, {"a": 1}, "")
    assert seed_tests.fingerprint(project, {"a": 1}, "") == base
    assert seed_tests.fingerprint(project, {"a": 2}, "") != base
    assert seed_tests.fingerprint(project, {"a": 1}, "postgres") != base
    for path, text in (("seeds/rules.csv", "rule_id\nr1\nr1\n"), ("macros/m.sql", "{# changed #}\n")):
        before = (project / path).read_text()
        (project / path).write_text(text)
        assert seed_tests.fingerprint(project, {"a": 1}, "") != base, path
        (project / path).write_text(before)
        assert seed_tests.fingerprint(project, {"a": 1}, "") == base, path
    (project / "seeds" / "new.csv").write_text("x\n1\n")  # a new file counts too
    assert seed_tests.fingerprint(project, {"a": 1}, "") != base


# --- plan and record on hand-made artefacts ----------------------------------------------------


def _artefacts(target: Path, statuses: dict[str, str]) -> None:
    target.mkdir(parents=True, exist_ok=True)
    (target / "manifest.json").write_text(json.dumps(MANIFEST))
    results = [{"unique_id": unique_id, "status": status} for unique_id, status in statuses.items()]
    (target / "run_results.json").write_text(json.dumps({"results": results}))


def test_a_record_holds_what_passed_and_the_next_build_leaves_it_out(tmp_path):
    project, target = _project(tmp_path / "p"), tmp_path / "target"
    target.mkdir()
    first = seed_tests.plan(["build"], {}, project, target)
    assert first.skipped == () and seed_tests.exclude_args(first) == []
    _artefacts(target, {"test.p.unique_rules": "pass", "test.p.arms_key": "warn", "test.p.arms_rule": "pass",
                        "test.p.fct_rule": "fail"})  # fmt: skip
    assert seed_tests.record(first) == 2
    second = seed_tests.plan(["build", "--exclude-resource-type", "unit_test"], {}, project, target)
    # the warned test runs again; a test of a model over events was never a candidate
    assert second.skipped == ("arms_rule", "unique_rules")
    assert seed_tests.exclude_args(second) == ["--exclude", "arms_rule", "unique_rules"]
    # the second run: the two left out, the warned one passes now -> all three recorded
    _artefacts(target, {"test.p.arms_key": "pass", "test.p.fct_rule": "pass"})
    assert seed_tests.record(second) == 3
    assert seed_tests.plan(["build"], {}, project, target).skipped == (
        "arms_key",
        "arms_rule",
        "unique_rules",
    )
    # a full refresh, a replay, another command, other vars or target, a changed seed: all run
    assert seed_tests.plan(["build", "--full-refresh"], {}, project, target).skipped == ()
    assert seed_tests.plan(["build"], {}, project, target, everything=True).skipped == ()
    assert seed_tests.plan(["test"], {}, project, target).skipped == ()
    assert seed_tests.plan(["build"], {"as_of_date": "2026-04-05"}, project, target).skipped == ()
    assert seed_tests.plan(["build", "--target", "postgres"], {}, project, target).skipped == ()
    (project / "seeds" / "rules.csv").write_text("rule_id\nr1\nr1\n")
    assert seed_tests.plan(["build"], {}, project, target).skipped == ()


def test_no_record_unless_the_run_covered_every_seed_only_test(tmp_path):
    project, target = _project(tmp_path / "p"), tmp_path / "target"
    target.mkdir()
    plan = seed_tests.plan(["build"], {}, project, target)
    # a selection that ran one of the three: nothing written
    _artefacts(target, {"test.p.unique_rules": "pass"})
    assert seed_tests.record(plan) is None and not (target / seed_tests.RECORD_FILE).exists()
    # artefacts older than the run (dbt stopped before writing its own): nothing written
    _artefacts(target, {f"test.p.{n}": "pass" for n in ("unique_rules", "arms_key", "arms_rule")})
    old = time.time() - 3600
    for name in ("manifest.json", "run_results.json"):
        os.utime(target / name, (old, old))
    assert seed_tests.record(plan) is None
    # an unreadable record is no record
    (target / seed_tests.RECORD_FILE).write_text("{not json")
    assert seed_tests.plan(["build"], {}, project, target).skipped == ()


# --- a real build on a copy of the project -----------------------------------------------------

# the seeds and the two models fed by seeds alone; cautious: no test with a parent outside them
SEEDS_ONLY = ["build", "--select", "resource_type:seed", "int_identity_review_decisions", "dim_bandit_arms",
              "--indirect-selection", "cautious"]  # fmt: skip


def _copy_project(root: Path) -> Path:
    root.mkdir()
    for name in seed_tests.PROJECT_PARTS:  # what the fingerprint reads is the project
        source = REPO_ROOT / name
        if source.is_dir():
            shutil.copytree(source, root / name)
        elif source.exists():
            shutil.copy(source, root / name)
    return root


def _ran(target: Path) -> dict[str, str]:
    results = json.loads((target / "run_results.json").read_text())["results"]
    return {row["unique_id"]: row["status"] for row in results}


@pytest.fixture
def project_copy(tmp_path):
    from tests_py.conftest import TEST_HASH_KEY, TEST_VARS

    project = _copy_project(tmp_path / "project")
    db = tmp_path / "lawn.duckdb"
    assert load_raw(DEMO_RAW_DIR, db).ok
    install_key(db, TEST_HASH_KEY)

    def build():
        target = tmp_path / "target"
        return run_dbt(
            SEEDS_ONLY, db, dbt_vars=TEST_VARS, target_path=target, project_dir=project, reuse_seed_tests=True
        )

    return project, tmp_path / "target", build


def test_a_second_build_leaves_the_seed_tests_out_and_a_broken_seed_brings_them_back(project_copy):
    project, target, build = project_copy
    first = build()
    assert first.returncode == 0, first.stdout[-3000:]
    manifest = json.loads((target / "manifest.json").read_text())
    expected = seed_tests.seed_only_tests(manifest)
    ran = _ran(target)
    assert len(expected) > 50 and set(expected) <= set(ran)
    assert json.loads((target / seed_tests.RECORD_FILE).read_text())["tests"] == sorted(expected.values())

    second = build()
    assert second.returncode == 0 and second.seed_tests_left_out == len(expected)
    ran = _ran(target)
    assert not set(expected) & set(ran)  # every seed-only test left out...
    seeds = {unique_id for unique_id, node in manifest["nodes"].items() if node["resource_type"] == "seed"}
    assert seeds <= set(ran)  # ...while the seeds still load

    # a registry seed with a repeated key: its tests run again and the unique test fails
    registry = project / "seeds" / "bandits" / "bandit_registry.csv"
    rows = pd.read_csv(registry, dtype=str, keep_default_na=False)
    pd.concat([rows, rows.head(1)]).to_csv(registry, index=False)
    broken = build()
    ran = _ran(target)
    assert broken.returncode == 1 and broken.seed_tests_left_out == 0
    failed = {
        expected[unique_id] for unique_id, status in ran.items() if status == "fail" and unique_id in expected
    }
    assert failed and all("bandit_registry" in name for name in failed), failed
    again = build()  # the failed tests are not in the record: they fail again
    assert again.returncode == 1 and failed <= {
        expected[u] for u, status in _ran(target).items() if status == "fail" and u in expected
    }
