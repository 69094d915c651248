"""What the Dagster code location needs besides its assets: the nightly's settings as a
resource, the dbt manifest it reads its assets from, the environment dbt runs in, and the
raw-folder fingerprint the sensor compares."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from dagster import ConfigurableResource

from lawn.contract import RAW_TABLES
from lawn.dbt_runner import dbt_invocation, run_dbt
from lawn.identity_key import resolve_key
from lawn.nightly import NightlyConfig
from lawn.paths import DEMO_RAW_DIR, EXPORT_DIR, MODEL_STORE_DIR, REPO_ROOT, REPORT_DIR, duckdb_path
from lawn.raw_deliveries import find_table_files
from lawn.settings import ACTION_MAX_AGE_DAYS

# what `dbt parse` reads: a manifest older than any of these is parsed again
PROJECT_INPUTS = ("dbt_project.yml", "packages.yml", "models", "macros", "seeds", "snapshots", "tests")
MANIFEST_DIR = REPO_ROOT / "target" / "dagster"
ENV_MANIFEST = "LAWN_DAGSTER_MANIFEST"


class LawnNightlyResource(ConfigurableResource):
    """The options of `lawn nightly`, as Dagster config (strings for paths; None: the same
    default as the CLI). ``dbt_vars_json`` is the JSON object `--vars` gets."""

    db_path: str | None = None
    raw_dir: str | None = None
    model_store: str = str(MODEL_STORE_DIR)
    export_dir: str = str(EXPORT_DIR)
    report_dir: str = str(REPORT_DIR)
    full_refresh: bool = False
    train_if_missing: bool = True
    shadow: str | None = None
    action_max_age_days: int = ACTION_MAX_AGE_DAYS
    dbt_vars_json: str = "{}"
    dbt_target_path: str | None = None
    dev: bool = False
    lock_wait_seconds: float = 0.0

    def raw_folder(self) -> Path:
        return Path(self.raw_dir) if self.raw_dir else DEMO_RAW_DIR

    def nightly_config(self) -> NightlyConfig:
        """The NightlyConfig `lawn nightly` would build from the same options, with the
        identity hash key resolved as it does (raises HashKeyError without one)."""
        return NightlyConfig(
            db_path=Path(self.db_path) if self.db_path else duckdb_path(),
            model_store=Path(self.model_store),
            export_dir=Path(self.export_dir),
            report_dir=Path(self.report_dir),
            raw_dir=Path(self.raw_dir) if self.raw_dir else None,
            full_refresh=self.full_refresh,
            train_if_missing=self.train_if_missing,
            shadow=self.shadow,
            action_max_age_days=self.action_max_age_days,
            dbt_vars=json.loads(self.dbt_vars_json),
            dbt_target_path=Path(self.dbt_target_path) if self.dbt_target_path else None,
            hash_key=resolve_key(self.dev),
            dev=self.dev,
            lock_wait_seconds=self.lock_wait_seconds,
        )


def _newest_input(project_dir: Path) -> float:
    newest = 0.0
    for name in PROJECT_INPUTS:
        path = project_dir / name
        if path.is_file():
            newest = max(newest, path.stat().st_mtime)
        elif path.is_dir():
            newest = max([newest, *(p.stat().st_mtime for p in path.rglob("*") if p.is_file())])
    return newest


def manifest_path(target_dir: Path = MANIFEST_DIR) -> Path:
    """The dbt manifest the code location is built from: ``$LAWN_DAGSTER_MANIFEST`` when set,
    else ``target/dagster/manifest.json``, parsed again (`dbt parse`, ~15 s) when missing or
    older than a project file."""
    if ENV_MANIFEST in os.environ:
        path = Path(os.environ[ENV_MANIFEST])
        if not path.is_file():
            raise FileNotFoundError(f"{ENV_MANIFEST}={path}: no such file")
        return path
    path = target_dir / "manifest.json"
    if path.is_file() and path.stat().st_mtime >= _newest_input(REPO_ROOT):
        return path
    result = run_dbt(["parse"], None, target_path=target_dir)
    if result.returncode != 0 or not path.is_file():
        tail = (result.stdout + result.stderr).strip().splitlines()[-3:]
        raise RuntimeError("dbt parse failed: " + " | ".join(tail))
    return path


@contextmanager
def dbt_environment(db_path: Path) -> Iterator[None]:
    """This process's environment as lawn's dbt runner gives it to dbt (the warehouse in
    LAWN_DUCKDB_PATH, no identity key variables) while dagster-dbt starts dbt, which copies
    ``os.environ``; restored afterwards. A Dagster step runs in one thread, so nothing else
    sees the swap."""
    saved = dict(os.environ)
    env = dbt_invocation([], db_path).env
    os.environ.clear()
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def raw_fingerprint(raw_dir: Path) -> dict[str, list[int]]:
    """``{file name: [size, mtime_ns]}`` of the contract's raw files in ``raw_dir`` (what
    `lawn nightly --raw-dir` would land); {} for a missing or empty folder. Raises
    RawFileError when a table has two files."""
    if not raw_dir.is_dir():
        return {}
    found = {}
    for table in RAW_TABLES.values():
        for path in find_table_files(raw_dir, table):  # a folder of deliveries: each file
            stat = path.stat()
            found[path.relative_to(raw_dir).as_posix()] = [stat.st_size, stat.st_mtime_ns]
    return found


def fingerprint_key(fingerprint: dict[str, list[int]]) -> str:
    return hashlib.sha256(json.dumps(fingerprint, sort_keys=True).encode()).hexdigest()[:16]
