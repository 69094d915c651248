"""What a failed `lawn build` most likely means, read from the run's dbt results.

The event tables are incremental on `received_at` (docs/events.md, "Incremental runs"): a run
reads the raw rows newer than what the tables hold minus `event_lookback_hours`. A delivery
landed later whose receive time is older than that (a late export, a backfill of old
deliveries) is never read by an incremental run, so every mart lacks it (a late cancellation
leaves the account paying in `fct_mrr`). `assert_raw_rows_reconcile_with_event_marts` then
fails with dbt's bare "Got 1 result": this names the cause and the cure."""

from __future__ import annotations

import json
from pathlib import Path

from lawn.dbt_runner import target_folder
from lawn.paths import REPO_ROOT

RECONCILIATION_TEST = "assert_raw_rows_reconcile_with_event_marts"
# file times come from the kernel's coarse clock; an earlier run's artefacts are far older
MTIME_SLACK_SECONDS = 2.0

LATE_DELIVERY_HINT = (
    f"hint: {RECONCILIATION_TEST} failed: raw rows are missing from the event marts. Most "
    "likely a delivery landed whose received_at is older than the incremental lookback "
    "(var event_lookback_hours) of what the event tables already hold, so this incremental "
    "build did not read it and every mart (MRR, retention, activation...) lacks those events. "
    "Run `lawn build --full-refresh` once to read them (docs/events.md, Incremental runs)."
)


def run_results_path() -> Path:
    """Where `lawn build`'s dbt writes run_results.json (DBT_TARGET_PATH, else target/)."""
    return target_folder(REPO_ROOT) / "run_results.json"


def late_delivery_hint(started: float, results_path: Path | None = None) -> str | None:
    """The hint when this run (artefacts written after ``started``, a wall time) failed the raw
    reconciliation test; None otherwise or when the results cannot be read."""
    path = results_path or run_results_path()
    try:
        if path.stat().st_mtime < started - MTIME_SLACK_SECONDS:
            return None
        results = json.loads(path.read_text()).get("results", [])
    except (OSError, ValueError):
        return None
    for row in results:
        unique_id = str(row.get("unique_id", ""))
        if unique_id.split(".")[-1] == RECONCILIATION_TEST and row.get("status") in ("fail", "error"):
            return LATE_DELIVERY_HINT
    return None
