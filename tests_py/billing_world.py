"""The hand-written billing world (tests_py/fixtures/probe_metrics) copied into a raw folder,
with the environment a `lawn build` of it runs under (its own warehouse, dbt target folder and
the tests' identity hash key). Shared by the tests that build it."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests_py.conftest import TEST_HASH_KEY

FEED = Path(__file__).parent / "fixtures" / "probe_metrics"


def billing_world(root: Path) -> tuple[Path, dict[str, str]]:
    """Copy the world's files under ``root / "raw"`` (events as raw_events/part-0001.csv);
    return that folder and the build's environment."""
    raw = root / "raw"
    (raw / "raw_events").mkdir(parents=True)
    shutil.copy(FEED / "raw_events.csv", raw / "raw_events" / "part-0001.csv")
    for name in ("crm_accounts.csv", "marketing_spend.csv"):
        shutil.copy(FEED / name, raw / name)
    env = {
        "LAWN_DUCKDB_PATH": str(root / "lawn.duckdb"),
        "DBT_TARGET_PATH": str(root / "target"),
        "LAWN_IDENTITY_HASH_KEY": TEST_HASH_KEY.secret.decode(),
    }
    return raw, env
