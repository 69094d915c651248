"""A throwaway dbt project with the repository's macros on its own DuckDB file: what the
generic-test files (test_test_cost, test_value_rules, test_compound_primary_key) build their
hand-written seeds and models in; and macros rendered by the project itself, for the
portable-macro files (test_portable_macros, test_ordered_text_list)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from lawn.dbt_runner import run_dbt
from lawn.paths import REPO_ROOT


def scratch_project(project: Path, name: str, extra_config: str = "") -> Path:
    """Write `project` (macros copied, empty seeds/ and models/, a profile on
    `project/scratch.duckdb`); its macros take over lawn's dispatched ones. `extra_config` is
    appended to dbt_project.yml."""
    shutil.copytree(REPO_ROOT / "macros", project / "macros")
    (project / "seeds").mkdir()
    (project / "models").mkdir()
    (project / "dbt_project.yml").write_text(
        f"name: {name}\nversion: '1.0.0'\nconfig-version: 2\nprofile: {name}\n"
        f"dispatch:\n  - macro_namespace: lawn\n    search_order: [{name}]\n" + extra_config
    )
    (project / "profiles.yml").write_text(
        f"{name}:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n"
        f"      path: {project / 'scratch.duckdb'}\n"
    )
    return project


def seed_run_test(project: Path) -> tuple[dict[str, dict], dict[str, str]]:
    """Seed, run and test the project (seed and run first: `dbt build` would skip the models
    under a failing seed test); the results by node name and the compiled SQL by file stem."""
    for command in ("seed", "run", "test"):
        run_dbt([command], None, project_dir=project)
    run_results = json.loads((project / "target" / "run_results.json").read_text())
    results = {r["unique_id"].split(".")[2]: r for r in run_results["results"]}
    compiled = {path.stem: path.read_text() for path in (project / "target" / "compiled").rglob("*.sql")}
    return results, compiled


def parse_output(project: Path) -> tuple[int, str]:
    """`dbt parse` of the project: its exit code and its output."""
    result = run_dbt(["parse"], None, project_dir=project)
    return result.returncode, result.stdout + result.stderr


def render_expressions(parts: list[str], work: Path) -> dict[str, str]:
    """Each `{{ macro(...) }} as alias` of ``parts`` as the project renders it (one
    `dbt compile --inline` on a scratch DuckDB file under ``work``): the SQL by alias."""
    done = run_dbt(
        ["compile", "--inline", "select " + " ||| ".join(parts)],
        work / "w.duckdb",
        target_path=work / "target",
        log_path=work / "logs",
    )
    assert done.returncode == 0, done.stdout[-3000:]
    # the SQL as dbt compiled it, from run_results.json: the captured stdout is read as text
    # with universal newlines, which turned a carriage return inside a literal into \n
    results = json.loads((work / "target" / "run_results.json").read_text(encoding="utf-8"))["results"]
    code = results[0]["compiled_code"]
    compiled = code[code.index("select ") + len("select ") :]
    expressions = {}
    for chunk in compiled.split("|||"):
        expression, alias = re.match(r"(?s)\s*(.*)\s+as\s+(\w+)\s*$", chunk.strip()).groups()
        expressions[alias] = expression
    return expressions
