"""lawn/dbt_artifacts.py: with the patches, a build/run writes manifest.json once (at its end,
from that run) instead of twice, every other command as dbt does, and the one-shot JSON writer
gives exactly the bytes of dbt's ``json.dump``. dbt runs in a child process of its own, so the
patches never reach this test process's dbt."""

from __future__ import annotations

import datetime as dt
import decimal
import io
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from lawn import dbt_artifacts
from lawn.paths import REPO_ROOT

PROBE = textwrap.dedent(
    """
    import json, sys
    from dbt.cli.main import dbtRunner
    from dbt.contracts.graph.manifest import Manifest
    from lawn import dbt_artifacts

    project, mode = sys.argv[1], sys.argv[2]
    installed = dbt_artifacts.install() if mode == "patched" else False
    writes = []
    original = Manifest.write

    def spy(self, path):
        writes.append(path)
        original(self, path)

    Manifest.write = spy
    seen = {"installed": installed}
    for command in ("parse", "run", "build", "ls", "compile"):
        writes.clear()
        result = dbtRunner().invoke([command, "--project-dir", project, "--profiles-dir", project])
        seen[command] = {"writes": len(writes), "success": bool(result.success)}
        if command == "run":
            target = project + "/target/"
            manifest = json.load(open(target + "manifest.json"))
            results = json.load(open(target + "run_results.json"))
            seen["run_ids"] = [manifest["metadata"]["invocation_id"], results["metadata"]["invocation_id"]]
            seen["run_nodes"] = sorted(manifest["nodes"])
    print("PROBE " + json.dumps(seen))
    """
)


def _project(folder: Path) -> Path:
    folder.mkdir()
    (folder / "models").mkdir()
    (folder / "dbt_project.yml").write_text(
        "name: probe\nversion: '1.0'\nconfig-version: 2\nprofile: probe\nmodel-paths: [models]\n"
    )
    outputs = f"    dev:\n      type: duckdb\n      path: {folder / 'p.duckdb'}\n"
    profile = "probe:\n  target: dev\n  outputs:\n" + outputs
    (folder / "profiles.yml").write_text(profile)
    (folder / "models" / "one.sql").write_text("select 1 as id\n")
    (folder / "models" / "two.sql").write_text("select id + 1 as id from {{ ref('one') }}\n")
    return folder


def _probe(project: Path, mode: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(project), mode],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=600,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("PROBE ")]
    assert done.returncode == 0 and lines, done.stdout[-3000:] + done.stderr[-3000:]
    return json.loads(lines[-1][len("PROBE ") :])


def test_a_run_writes_the_manifest_once_and_from_itself(tmp_path):
    shipped = _probe(_project(tmp_path / "shipped"), "shipped")
    patched = _probe(_project(tmp_path / "patched"), "patched")
    assert patched["installed"] is True and shipped["installed"] is False
    for command in ("parse", "run", "build", "ls", "compile"):
        assert shipped[command]["success"] and patched[command]["success"], command
    # dbt as shipped writes the manifest twice per run or build (the negative control)
    assert shipped["run"]["writes"] == shipped["build"]["writes"] == 2
    assert patched["run"]["writes"] == patched["build"]["writes"] == 1
    # the other commands write as dbt does: parse once at parse time, compile twice (it is
    # not in WRITES_AT_END), ls as shipped
    for command in ("parse", "ls", "compile"):
        assert patched[command]["writes"] == shipped[command]["writes"], command
    assert patched["parse"]["writes"] == 1
    # the one write is the run's own: its invocation, with every model
    manifest_id, results_id = patched["run_ids"]
    assert manifest_id == results_id
    assert patched["run_nodes"] == shipped["run_nodes"] == ["model.probe.one", "model.probe.two"]


def test_the_one_shot_writer_gives_the_bytes_of_json_dump():
    from dbt_common.utils.encoding import JSONEncoder

    manifest = REPO_ROOT / "target" / "manifest.json"
    data: dict = json.loads(manifest.read_text()) if manifest.exists() else {}
    data["lawn_probe"] = {
        "when": dt.datetime(2026, 3, 1, 12, 30, 5, 123456),
        "day": dt.date(2026, 3, 1),
        "amount": decimal.Decimal("12.50"),
        "text": "Zoë “quoted” \u2028 \\ tab\t",
        "floats": [0.1, 1e-7, 1e22, -0.0, 3.0],
        "nested": [{"b": None, "a": True}, []],
    }
    expected, written = io.StringIO(), io.StringIO()
    json.dump(data, expected, cls=JSONEncoder)
    dbt_artifacts._OneShotJson.dump(data, written, cls=JSONEncoder)
    assert written.getvalue() == expected.getvalue()
    # anything else is the json module's own
    assert dbt_artifacts._OneShotJson().loads is json.loads


@pytest.mark.parametrize("name", sorted(dbt_artifacts.WRITES_AT_END))
def test_every_command_left_out_writes_at_its_end(name):
    """WRITES_AT_END names only commands whose task is one of dbt's graph-runnable tasks (the
    ones that write manifest.json when they end)."""
    from dbt.cli import main
    from dbt.task.runnable import GraphRunnableTask

    tasks = {
        "build": "dbt.task.build.BuildTask",
        "run": "dbt.task.run.RunTask",
        "test": "dbt.task.test.TestTask",
        "seed": "dbt.task.seed.SeedTask",
        "snapshot": "dbt.task.snapshot.SnapshotTask",
    }
    module, _, cls = tasks[name].rpartition(".")
    task = getattr(__import__(module, fromlist=[cls]), cls)
    assert issubclass(task, GraphRunnableTask)
    assert "run" not in task.__dict__ or task is GraphRunnableTask  # the end write is the base's
    assert name in main.cli.commands
