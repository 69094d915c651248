"""Where things live in the repository, and the environment variables that move them."""

from __future__ import annotations

import os
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
SEEDS_DIR = REPO_ROOT / "seeds"
# the demo raw files (written by `lawn generate`); `--raw-dir` points at your own
DEMO_RAW_DIR = REPO_ROOT / "data" / "raw"
TRACKING_PLAN_DIR = SEEDS_DIR / "tracking_plan"
TRUTH_DIR = REPO_ROOT / "data" / "truth"
SEGMENT_RAW_DIR = REPO_ROOT / "data" / "segment_raw"  # `lawn ingest segment` writes here by default
# the dbt project and its vars (read by lawn/settings.py)
DBT_PROJECT_FILE = REPO_ROOT / "dbt_project.yml"
# what the CLI writes by default, always under the repository root (never the cwd)
MODEL_STORE_DIR = REPO_ROOT / "data" / "models" / "churn"
UPLIFT_STORE_DIR = REPO_ROOT / "data" / "models" / "uplift"
EXPORT_DIR = REPO_ROOT / "data" / "exports" / "actions"
REPORT_DIR = REPO_ROOT / "data" / "reports" / "nightly"
# the nightly's archive (its --report-dir, default REPORT_DIR, + /cadence); `lawn report` defaults to it too
CADENCE_REPORT_DIR = REPORT_DIR / "cadence"
# the manifest of the last `dbt build` from the repository (lawn build's default target folder)
DEFAULT_MANIFEST = REPO_ROOT / "target" / "manifest.json"
IDENTITY_WEIGHTS_ESTIMATE = REPO_ROOT / "data" / "identity_match_weights.estimated.csv"


def duckdb_path() -> Path:
    """The DuckDB file dbt builds into (`LAWN_DUCKDB_PATH` overrides the default)."""
    return Path(os.environ.get("LAWN_DUCKDB_PATH", REPO_ROOT / "lawn.duckdb"))


def dbt_command() -> list[str]:
    """The dbt executable installed beside this Python (the project's virtualenv)."""
    return [str(Path(sys.executable).with_name("dbt"))]


def patched_dbt_executable() -> str:
    """``lawn-dbt`` beside this Python: dbt's command line with lawn's patches of dbt
    (lawn/dbt_main.py), for a tool that runs a dbt executable itself (Dagster's
    ``DbtCliResource``). A virtualenv installed before the script existed has only ``dbt``:
    that one then (``bash scripts/setup.sh`` installs the script)."""
    patched = Path(sys.executable).with_name("lawn-dbt")
    return str(patched) if patched.exists() else dbt_command()[0]


def unwritable_reason(folder: Path) -> str | None:
    """Why files cannot be written in ``folder`` (made if missing), or None when they can:
    checked before a command does its work, so an output option that cannot be written is
    bad input named in one line, not an OSError at the end."""
    probe = Path(folder) / f".lawn-write-check-{os.getpid()}"
    try:
        Path(folder).mkdir(parents=True, exist_ok=True)
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        return exc.strerror or str(exc)
    return None


def fsync_path(path: Path) -> None:
    """Flush a file, or a folder's entries (after a rename into it), to disk."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
