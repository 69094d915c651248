"""Several Spark steps of a test in one Python process, so one JVM (docs/test_cost.md).

`python -m tests_py.spark_steps PLAN RESULT` runs the steps of the JSON file PLAN in order,
inside lawn.dbt_runner.in_process(): every dbt run (the `lawn spark land|build` commands, plain
dbt runs, the export) happens in this process, and dbt-spark's session method reuses the Spark
session the first one started (35-48 s of JVM start and Spark setup per run otherwise). The
environment is the caller's (tests_py/conftest.py's spark_env: one LAWN_SPARK_DIR for all).
Steps, each a JSON object with a ``kind``:

- ``cli``: ``args`` of the `lawn` command line (typer's CliRunner); exit code and output.
- ``dbt``: ``args`` of dbt on the Spark target's warehouse, with ``vars``; exit code and output.
- ``export``: lawn.spark.export_spark_schemas of ``schemas`` into the DuckDB file ``out``, with
  ``target_path`` and ``vars``; rows per relation.
- ``mtimes``: the data files of each ``received_date=*`` folder under ``dir`` with their
  modification times (ns).
- ``copy``: the folder ``src`` copied to ``dst`` (to keep what a later step overwrites).

RESULT gets one entry per step run; the first failing step ends the run (its entry says so),
unless it has ``"may_fail": true`` (its exit code is the caller's to judge)."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path


def _step(step: dict) -> dict:
    from lawn.dbt_runner import run_dbt

    kind = step["kind"]
    if kind == "cli":
        from typer.testing import CliRunner

        from lawn.cli import app

        done = CliRunner().invoke(app, step["args"])
        crashed = repr(done.exception) if done.exception else ""
        return {"code": done.exit_code, "output": done.output + crashed}
    if kind == "dbt":
        result = run_dbt(step["args"], None, dbt_vars=step.get("vars"))
        return {"code": result.returncode, "output": result.stdout + result.stderr}
    if kind == "export":
        from lawn.spark import export_spark_schemas

        args = {"target_path": Path(step["target_path"]), "dbt_vars": step.get("vars")}
        return {"code": 0, "counts": export_spark_schemas(Path(step["out"]), tuple(step["schemas"]), args)}
    if kind == "mtimes":
        folders = sorted(Path(step["dir"]).glob("received_date=*"))
        found = {f.name: {x.name: x.stat().st_mtime_ns for x in f.glob("*.parquet")} for f in folders}
        return {"code": 0, "mtimes": found}
    if kind == "copy":
        shutil.copytree(step["src"], step["dst"])
        return {"code": 0}
    raise ValueError(f"unknown step kind {kind!r}")


def main(plan_path: str, result_path: str) -> int:
    from lawn.dbt_runner import in_process

    steps = json.loads(Path(plan_path).read_text())
    results: list[dict] = []
    with in_process():
        for step in steps:
            try:
                done = _step(step)
            except Exception as exc:  # the test reports it with the step
                done = {"code": 2, "output": f"{type(exc).__name__}: {exc}"}
            results.append({"step": step, **done})
            if done["code"] != 0 and not step.get("may_fail"):
                break
    Path(result_path).write_text(json.dumps(results))
    failed = [r for r in results if r["code"] != 0 and not r["step"].get("may_fail")]
    return 0 if not failed and len(results) == len(steps) else 1


def run_steps(steps: list[dict], env: dict[str, str], work: Path) -> list[dict]:
    """Run ``steps`` in one child process with ``env`` (from the repository root); their
    results, each checked (exit code 0, else the step's output in the assertion)."""
    import subprocess

    from lawn.paths import REPO_ROOT

    plan, result_file = work / "spark_steps.json", work / "spark_steps_result.json"
    plan.write_text(json.dumps(steps, default=str))
    done = subprocess.run(
        [sys.executable, "-m", "tests_py.spark_steps", str(plan), str(result_file)],
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
    )
    assert result_file.exists(), f"spark steps did not run:\n{(done.stdout + done.stderr)[-6000:]}"
    results = json.loads(result_file.read_text())
    for result in results:
        if not result["step"].get("may_fail"):
            assert result["code"] == 0, f"{result['step']} failed:\n{result.get('output', '')[-5000:]}"
    assert len(results) == len(steps), (done.stdout + done.stderr)[-3000:]
    return results


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
