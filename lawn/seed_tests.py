"""Data tests on the seeds are not run again while nothing they depend on has changed.

Every `lawn build` and nightly rebuilds the models over the new data, so their data tests run
again. The seeds (the tracking plan, registries, policies: ``seeds/``) and the models built
from seeds alone are rebuilt from the same files each time, so the outcome of a data test that
reads only them (62 of the demo's 321 since the single-column tests were folded, 107 of 514
before: accepted values of a registry, its keys, its relationships) is a function of the
project's files, the vars, the target and the installed dbt, adapter and DuckDB, never of the
warehouse's data. Running them again cost every
incremental build about 7 s of dbt's per-node time at 1M (docs/performance.md).

:func:`plan` hashes those inputs (:func:`fingerprint`); when the record in the run's dbt
target folder (``RECORD_FILE``, beside dbt's own ``partial_parse.msgpack``) holds the same
fingerprint, the tests that passed under it are left out of the build (``--exclude`` by name).
:func:`record` writes the record after a run in which every seed-only test either ran or was
left out that way: the ones that passed (or were left out) are recorded, one that failed or
warned is not, so it runs again next time. Any change to a file of the project (a seed, a
test's YAML, a macro), the vars or the target changes the fingerprint, and every test runs.
A build with ``--full-refresh`` or a replayed day (``--as-of``) runs them all and records.
The seeds themselves are still loaded by every build (dbt's relationships tests from the models
to them need them)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

RECORD_FILE = "lawn_seed_test_passes.json"
# what the project's dbt graph is made of (any change to them changes the fingerprint)
PROJECT_PARTS = ("dbt_project.yml", "profiles.yml", "selectors.yml", "packages.yml", "macros", "models",
                 "seeds", "snapshots", "tests", "analyses")  # fmt: skip
PACKAGES = ("dbt-core", "dbt-duckdb", "dbt-postgres", "dbt-spark", "duckdb")


@dataclass(frozen=True)
class Plan:
    """The seed-only tests a build leaves out, and what to record after it."""

    fingerprint: str
    record_path: Path
    skipped: tuple[str, ...]  # test names left out of this build (passed under this fingerprint)
    started: float  # wall time before dbt started: older artefacts are not this run's


def _package_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return ""


def fingerprint(project_dir: Path, dbt_vars: Mapping[str, object], target: str) -> str:
    """SHA-256 over the project's files (path and content), the vars, the target and the
    installed dbt, adapters and DuckDB."""
    digest = hashlib.sha256()
    for part in PROJECT_PARTS:
        root = project_dir / part
        files = sorted(path for path in root.rglob("*") if path.is_file()) if root.is_dir() else [root]
        for path in files:
            if path.is_file():
                digest.update(str(path.relative_to(project_dir)).encode() + b"\0")
                digest.update(hashlib.sha256(path.read_bytes()).digest())
    versions = {name: _package_version(name) for name in PACKAGES}
    context = {"vars": dict(dbt_vars), "target": target, "packages": versions}
    digest.update(json.dumps(context, sort_keys=True, default=str).encode())
    return digest.hexdigest()


def _target_name(args: Sequence[str]) -> str:
    args = list(args)
    return args[args.index("--target") + 1] if "--target" in args[:-1] else ""


def plan(
    args: Sequence[str],
    dbt_vars: Mapping[str, object],
    project_dir: Path,
    target_path: Path,
    everything: bool = False,
) -> Plan:
    """What to leave out of ``dbt <args>`` and where its record is: only a build without
    --full-refresh (and without ``everything``: a replayed day is a full refresh) leaves
    anything out."""
    record_path = target_path / RECORD_FILE
    current = fingerprint(project_dir, dbt_vars, _target_name(args))
    skipped: tuple[str, ...] = ()
    if list(args[:1]) == ["build"] and "--full-refresh" not in args and not everything:
        try:
            held = json.loads(record_path.read_text())
            if held.get("fingerprint") == current:
                skipped = tuple(str(name) for name in held.get("tests", []))
        except (OSError, ValueError, AttributeError):
            skipped = ()  # no record, or one that cannot be read: every test runs
    return Plan(current, record_path, skipped, dt.datetime.now().timestamp())


def exclude_args(plan_: Plan) -> list[str]:
    return ["--exclude", *plan_.skipped] if plan_.skipped else []


def seed_only_tests(manifest: dict) -> dict[str, str]:
    """The data tests (unique_id -> name) whose every parent is a seed or a model or snapshot
    built from seeds alone (a model without parents is not: it may read anything). A test
    whose name another node or unit test also has is not one: ``--exclude`` by that name
    would leave the other out too."""
    nodes = manifest.get("nodes", {})
    names = Counter(node.get("name") for node in [*nodes.values(), *manifest.get("unit_tests", {}).values()])
    memo: dict[str, bool] = {}

    def parents(unique_id: str) -> list[str]:
        return list(nodes.get(unique_id, {}).get("depends_on", {}).get("nodes", []))

    def from_seeds(unique_id: str) -> bool:
        if unique_id not in memo:
            node = nodes.get(unique_id)
            kind = node.get("resource_type") if node else None
            if kind == "seed":
                memo[unique_id] = True
            elif kind in ("model", "snapshot"):
                memo[unique_id] = False  # a cycle guard; dbt graphs have none
                found = parents(unique_id)
                memo[unique_id] = bool(found) and all(from_seeds(parent) for parent in found)
            else:
                memo[unique_id] = False
        return memo[unique_id]

    return {
        unique_id: node["name"]
        for unique_id, node in nodes.items()
        if node.get("resource_type") == "test"
        and names[node.get("name")] == 1
        and parents(unique_id)
        and all(from_seeds(parent) for parent in parents(unique_id))
    }


# file times come from the kernel's coarse clock, a few milliseconds behind time.time(): a file
# written right after the plan may carry an earlier time. An earlier run's artefacts are older
# than this by far (dbt's own start takes seconds).
MTIME_SLACK_SECONDS = 2.0


def _this_runs(path: Path, started: float) -> dict | None:
    try:
        if path.stat().st_mtime < started - MTIME_SLACK_SECONDS:
            return None
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def record(plan_: Plan) -> int | None:
    """After the run: the record for the next build, when this run covered every seed-only
    test (ran it, or left it out under the same fingerprint). Returns how many tests it holds
    (None: nothing written, e.g. dbt wrote no artefacts or a selection left some out)."""
    target_path = plan_.record_path.parent
    manifest = _this_runs(target_path / "manifest.json", plan_.started)
    results = _this_runs(target_path / "run_results.json", plan_.started)
    if manifest is None or results is None:
        return None
    tests = seed_only_tests(manifest)
    status = {row["unique_id"]: row.get("status") for row in results.get("results", [])}
    skipped = set(plan_.skipped)
    if not all(unique_id in status or name in skipped for unique_id, name in tests.items()):
        return None
    keep = sorted(
        name for unique_id, name in tests.items() if status.get(unique_id) == "pass" or name in skipped
    )
    text = json.dumps({"fingerprint": plan_.fingerprint, "tests": keep}, indent=1)
    partial = plan_.record_path.with_name(f".{RECORD_FILE}.{os.getpid()}.tmp")
    try:
        partial.write_text(text)
        os.replace(partial, plan_.record_path)
    except OSError:
        return None  # no record: the next build runs every test
    return len(keep)
