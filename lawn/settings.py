"""Every tunable lawn has, read once: the dbt vars of dbt_project.yml and the Python
constants that must agree with them. Paths live in lawn/paths.py.

A var is declared once, in ``dbt_project.yml``; SQL reads it with ``var()``, Python reads it
here (``var("name")`` or a named constant below). Nothing else may restate the number:
tests_py/test_settings.py fails when a CLI default or a constant differs from its var, or
when a var is read by neither SQL nor Python."""

from __future__ import annotations

import datetime as dt
from functools import cache
from typing import Any

import yaml

from lawn.paths import DBT_PROJECT_FILE


class SettingsError(RuntimeError):
    """dbt_project.yml is missing, unreadable or lacks a var lawn needs."""


@cache
def dbt_vars() -> dict[str, Any]:
    """The ``vars:`` block of dbt_project.yml (the project's defaults, before any ``--vars``)."""
    try:
        project = yaml.safe_load(DBT_PROJECT_FILE.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise SettingsError(f"{DBT_PROJECT_FILE}: {exc}") from exc
    found = project.get("vars") if isinstance(project, dict) else None
    if not isinstance(found, dict):
        raise SettingsError(f"{DBT_PROJECT_FILE}: no vars block")
    return dict(found)


def var(name: str) -> Any:
    """The default of dbt var ``name``; a var that is not declared is an error, not a guess."""
    try:
        return dbt_vars()[name]
    except KeyError:
        raise SettingsError(f"{DBT_PROJECT_FILE}: no var {name!r}") from None


# the Python side of vars that SQL also reads (name = var)
MIN_WELCH_DF: float = var("experiment_min_welch_df")
SEQUENTIAL_RELATIVE_TAU: float = var("sequential_relative_tau")
SRM_ALPHA: float = var("srm_alpha")
DEFAULT_ALPHA: float = var("experiment_default_alpha")
IDENTITY_MATCH_PRIOR: float = var("identity_match_prior")
MAX_PAYLOAD_CHARACTERS: int = var("max_payload_characters")
CLOCK_SKEW_TOLERANCE_MINUTES: int = var("clock_skew_tolerance_minutes")
MAX_EVENT_AGE_DAYS: int = var("max_event_age_days")
RECEIVED_AT_EARLIEST: dt.datetime = dt.datetime.fromisoformat(str(var("received_at_earliest_date")))
RECEIVED_AT_MAX_FUTURE: dt.timedelta = dt.timedelta(minutes=var("received_at_max_future_minutes"))
# read by Python only: the export step (lawn/actions.py) skips decisions older than this
ACTION_MAX_AGE_DAYS: int = var("action_max_age_days")
# read by Python only: `lawn uplift train`'s default ridge penalty (None: cross-validated)
UPLIFT_DEFAULT_RIDGE: float | None = var("uplift_default_ridge")
# read by Python only: the nightly rewrites the warehouse file after a retention purge on data
# days of this weekday ("monday" ... "sunday"), or every night ("daily")
RETENTION_COMPACT_WEEKDAY: str = str(var("retention_compact_weekday")).strip().lower()
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
if RETENTION_COMPACT_WEEKDAY not in (*WEEKDAYS, "daily"):
    raise SettingsError(
        f"{DBT_PROJECT_FILE}: var retention_compact_weekday must be a weekday name or daily, "
        f"not {RETENTION_COMPACT_WEEKDAY!r}"
    )

# replay (docs/as_of.md): a build as if run at the end of UTC day D passes {AS_OF_VAR: "D"};
# the declared default (null) means all data. lawn/dbt_runner.py is the only caller.
AS_OF_VAR = "as_of_date"
AS_OF_DEFAULT: str | None = var(AS_OF_VAR)


def as_of_vars(day: dt.date | None) -> dict[str, str]:
    """The dbt ``--vars`` entry of a replay of ``day`` (none without one)."""
    return {} if day is None else {AS_OF_VAR: day.isoformat()}


# vars that no SQL reads, and the Python that does (tests_py/test_settings.py checks the list)
PYTHON_ONLY_VARS = {
    "action_max_age_days": "lawn/actions.py export_actions (CLI --max-age-days)",
    "retention_compact_weekday": "lawn/nightly_steps.py step_retention (compacts_on)",
    "uplift_default_ridge": "lawn/uplift_model.py train (CLI `lawn uplift train --ridge`)",
}
