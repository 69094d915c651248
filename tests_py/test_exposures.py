"""Exposures (models/exposures.yml) show what lawn's Python reads: every mart that SQL in
lawn/*.py reads is in some exposure's depends_on and exposures name nothing else, and Python
reads no intermediate or staging model (the modules still moving to marts are named, and shrink)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from lawn import dbt_runner
from lawn.paths import REPO_ROOT
from tests_py.test_landing import _sql_strings

LAWN_DIR = REPO_ROOT / "lawn"
# SQL reading a relation: `from marts.x`, `join ml.y` (a Python-only table such as
# ops.export_batches is not a dbt node and is left out below)
READ = re.compile(
    r"(?<!delete\s)\b(?:from|join)\s+(marts|pii|ml|ops|intermediate|staging)\.([a-z_][a-z0-9_]*)\b", re.I
)
NAMED = re.compile(r"(marts|pii|ml|ops|intermediate|staging)\.([a-z_][a-z0-9_]*)", re.I)
# modules allowed to touch intermediate/staging relations: the privacy enforcers, which delete
# and redact rows of the physical tables a policy or an erasure covers (they read no model's
# data for analysis); every other module reads marts only (issue 16 item 5)
# (feature_state.py: their helper deleting the stored feature rows of erased or purged events)
# (privacy_maps.py: the relation maps lawn/privacy.py and lawn/privacy_landing.py erase and redact)
PENDING_MARTS_ONLY: set[str] = {"privacy_maps.py", "retention.py", "feature_state.py"}


def python_reads() -> dict[tuple[str, str], set[str]]:
    """(schema, relation) -> the lawn modules whose SQL reads it."""
    reads: dict[tuple[str, str], set[str]] = {}
    for path in sorted(LAWN_DIR.rglob("*.py")):
        for text in _sql_strings(path):
            found = READ.findall(text)
            named = NAMED.fullmatch(text.strip())  # a relation held in a constant, read by f-string
            for schema, name in found + ([named.groups()] if named else []):
                reads.setdefault((schema.lower(), name.lower()), set()).add(path.name)
    return reads


@pytest.fixture(scope="module")
def exposures(tmp_path_factory) -> dict[str, set[str]]:
    work = tmp_path_factory.mktemp("exposures")
    result = dbt_runner.run_dbt(
        ["ls", "--resource-type", "exposure", "--output", "json", "--output-keys", "name depends_on"],
        None,
        target_path=work / "target",
    )
    assert result.returncode == 0, result.stdout[-2000:]
    listed = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    manifest = json.loads((work / "target" / "manifest.json").read_text())
    nodes = {**manifest["nodes"], **manifest["sources"]}
    names = {}
    for exposure in listed:
        names[exposure["name"]] = set()
        for node in exposure["depends_on"]["nodes"]:
            found = nodes[node]
            schema = found["schema"]
            names[exposure["name"]].add(
                f"{schema}.{found.get('alias') or found.get('identifier') or found['name']}"
            )
    return names


def test_dbt_lists_the_exposures_of_the_report_model_exports_and_readouts(exposures):
    assert {"nightly_report", "churn_model", "action_exports", "lawn_readout", "automation_readout"} <= set(
        exposures
    )
    assert "marts.fct_churn_training_examples" in exposures["churn_model"]


def test_every_mart_python_reads_is_exposed_and_nothing_else(exposures):
    """Both ways: a mart read by SQL in lawn/*.py is in some exposure's depends_on, and an
    exposure names only marts that lawn's SQL does read (no stale lineage, no source)."""
    reads = python_reads()
    # the scan sees the reads it must: the report's SLO table, the training mart, the ledger
    assert {
        ("marts", "fct_slo_status"),
        ("marts", "fct_churn_training_examples"),
        ("ops", "action_exports"),
    } <= set(reads)
    exposed = set().union(*exposures.values())
    # public marts, and the restricted pii models a command may read (the identity weights)
    read_marts = {f"{schema}.{name}" for schema, name in reads if schema in ("marts", "pii")}
    missing = {
        f"{relation} (read by {', '.join(sorted(reads[tuple(relation.split('.'))]))})"
        for relation in read_marts - exposed
    }
    assert missing == set()
    assert exposed - read_marts == set()


def test_python_reads_marts_not_intermediate_or_staging_models():
    offenders = {
        module
        for (schema, _), modules in python_reads().items()
        if schema in ("intermediate", "staging")
        for module in modules
    }
    assert "churn_model.py" not in offenders and "model_monitoring.py" not in offenders
    assert offenders <= PENDING_MARTS_ONLY, offenders - PENDING_MARTS_ONLY


def test_the_scan_finds_a_read_in_every_form_lawn_writes_sql(tmp_path: Path):
    """Plain, implicitly concatenated and f-string SQL are all seen; docstrings and a delete
    (a write) are not."""
    module = tmp_path / "m.py"
    module.write_text(
        '"""Reads marts.fct_docstring_only."""\n'
        "A = 'select * from marts.fct_plain'\n"
        "D = 'delete from ml.churn_scores where 1 = 0'\n"
        "B = ('select count(*) '\n     'from marts.fct_joined')\n"
        "def f(x):\n"
        '    """from marts.fct_function_doc"""\n'
        "    return f'select {x} from intermediate.int_x inner join staging.stg_y on 1 = 1'\n"
    )
    found = {pair for text in _sql_strings(module) for pair in READ.findall(text)}
    assert found == {
        ("marts", "fct_plain"),
        ("marts", "fct_joined"),
        ("intermediate", "int_x"),
        ("staging", "stg_y"),
    }
