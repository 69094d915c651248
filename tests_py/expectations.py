"""Independent expectations: the validation rules restated in plain Python over raw rows.

Nothing here reads a dbt model; tests compare what dbt built with what this computes.
"""

from __future__ import annotations

import datetime as dt
import json
import re

import pandas as pd

# the receive-time, payload and clock limits are the project's (dbt vars via lawn/settings.py);
# only the rules are restated here
from lawn.settings import (
    CLOCK_SKEW_TOLERANCE_MINUTES,
    MAX_EVENT_AGE_DAYS,
    MAX_PAYLOAD_CHARACTERS,
    RECEIVED_AT_EARLIEST,
    RECEIVED_AT_MAX_FUTURE,
)
from lawn.tracking_plan import EventSpec, property_problems

INTEGER = re.compile(r"^[+-]?\d+(\.0*)?$")
# the staging macro's two patterns: seconds are optional; without an offset a date alone is
# midnight
_DAY = r"\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])"
ISO_WITH_OFFSET = re.compile(
    rf"^{_DAY}[T ]([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{{1,9}})?)?(Z|[+-](0\d|1[0-4])(:?[0-5]\d)?)$"
)
ISO_WITHOUT_OFFSET = re.compile(rf"^{_DAY}([T ]([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{{1,9}})?)?)?$")
SOURCES = {"web", "ios", "android", "backend"}


def parse_utc(text: object, require_offset: bool = False) -> dt.datetime | None:
    """ISO 8601 text -> naive UTC; text without an offset is UTC, or None with
    ``require_offset`` (the contract's rule for occurred_at)."""
    if not isinstance(text, str):
        return None
    text = text.strip()
    if not ISO_WITH_OFFSET.match(text) and (require_offset or not ISO_WITHOUT_OFFSET.match(text)):
        return None
    try:  # a day the month lacks (2026-11-31) is no time
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).replace(tzinfo=None)


def _integer(text: object) -> int | None:
    """Integer text as the try_cast macro reads it: a sign, digits and an optional all-zero
    fraction ('2.0' is 2); any other fraction ('1.5') is no integer (never rounded)."""
    if not isinstance(text, str) or not INTEGER.match(text.strip()):
        return None
    return int(text.strip().split(".")[0])


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def strict_json_object(text: object) -> dict | None:
    """The object RFC 8259 text holds, else None. Python's parser is strict except for
    NaN / Infinity / -Infinity, which are refused here; so is a text whose strings (keys or
    values) hold a NUL or a lone surrogate (``\\u0000``, an unpaired ``\\ud83d``), which no
    engine's text can hold (lawn's contract, macros/portability/json_has_strict_tokens.sql)."""
    if not isinstance(text, str):
        return None
    try:
        value = json.loads(text, parse_constant=_reject_constant)
    except ValueError:
        return None
    if not isinstance(value, dict) or _holds_unstorable_text(value):
        return None
    return value


def _holds_unstorable_text(value: object) -> bool:
    if isinstance(value, str):
        return any(char == "\x00" or "\ud800" <= char <= "\udfff" for char in value)
    if isinstance(value, dict):
        return any(_holds_unstorable_text(k) or _holds_unstorable_text(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_unstorable_text(item) for item in value)
    return False


_json_object = strict_json_object


def received_out_of_range(received: dt.datetime | None, now: dt.datetime | None = None) -> bool:
    """A parsed receive time before the earliest date or after now + the allowed skew."""
    if received is None:
        return False
    now = now or dt.datetime.now(dt.UTC).replace(tzinfo=None)
    return received < RECEIVED_AT_EARLIEST or received > now + RECEIVED_AT_MAX_FUTURE


def expected_reasons(
    row: pd.Series,
    plan: dict[tuple[str, int], EventSpec],
    skew_minutes: int = CLOCK_SKEW_TOLERANCE_MINUTES,
    max_age_days: int = MAX_EVENT_AGE_DAYS,
) -> set[str]:
    """The set of reason codes a first delivery must be quarantined with (empty = valid)."""
    reasons: set[str] = set()
    received = parse_utc(row["received_at"])
    occurred = parse_utc(row["occurred_at"], require_offset=True)
    props = _json_object(row["properties"])
    if pd.isna(row["event_id"]):
        reasons.add("MISSING_EVENT_ID")
    if received is None:
        reasons.add("INVALID_RECEIVED_AT")
    elif received_out_of_range(received):
        reasons.add("RECEIVED_AT_OUT_OF_RANGE")
    payload = sum(len(row[col]) for col in ("properties", "context") if isinstance(row[col], str))
    if payload > MAX_PAYLOAD_CHARACTERS:
        reasons.add("PAYLOAD_TOO_LARGE")
    if props is None:
        reasons.add("MALFORMED_PROPERTIES_JSON")
    if isinstance(row["context"], str) and _json_object(row["context"]) is None:
        reasons.add("MALFORMED_CONTEXT_JSON")
    names = {name for name, _ in plan}
    version = _integer(row["schema_version"])
    spec = plan.get((row["event_name"], version))
    if row["event_name"] not in names:
        reasons.add("UNKNOWN_EVENT")
    elif spec is None:
        reasons.add("UNKNOWN_SCHEMA_VERSION")
    elif spec.status != "live":
        reasons.add("RETIRED_SCHEMA_VERSION")
    if row["source"] not in SOURCES:
        reasons.add("INVALID_SOURCE")
    if occurred is None:
        reasons.add("INVALID_OCCURRED_AT")
    elif received is not None and not received_out_of_range(received):
        if occurred > received + dt.timedelta(minutes=skew_minutes):
            reasons.add("OCCURRED_IN_FUTURE")
        if occurred < received - dt.timedelta(days=max_age_days):
            reasons.add("OCCURRED_TOO_LONG_AGO")
    if all(pd.isna(row[col]) for col in ("anonymous_id", "device_id", "user_id", "account_id")):
        reasons.add("NO_IDENTIFIER")
    if spec is not None and props is not None:
        reasons |= {code for code, _ in property_problems(spec, props)}
    return reasons


def expected_verdicts(raw: pd.DataFrame, plan: dict[tuple[str, int], EventSpec]) -> pd.DataFrame:
    """One row per raw row: is it a redelivery, and if not, its expected reasons.

    First delivery = earliest received_at per event_id (ties: any; the generator has none);
    a missing or out-of-range receive time comes after every plausible one.
    """
    frame = raw.copy()
    frame["_received"] = frame["received_at"].map(parse_utc)
    frame["_implausible"] = frame["_received"].map(lambda r: r is None or received_out_of_range(r))
    frame = frame.sort_values(["event_id", "_implausible", "_received"], kind="stable")
    frame["is_redelivery"] = frame.duplicated("event_id", keep="first") & frame["event_id"].notna()
    frame["expected_reasons"] = [
        frozenset() if redelivery else frozenset(expected_reasons(row, plan))
        for redelivery, (_, row) in zip(frame["is_redelivery"], frame.iterrows(), strict=True)
    ]
    return frame.drop(columns=["_received", "_implausible"])


def data_quality_from_rows(deliveries: pd.DataFrame, events: pd.DataFrame) -> pd.DataFrame:
    """fct_data_quality_daily's counts per (receive date, source, event name), from every
    delivery (raw_event_key, delivery_status, received_at, source, event_name) joined to its
    event (raw_event_key, person_id) and counted in the delivery's group."""
    joined = deliveries.merge(events, on="raw_event_key", how="left", validate="one_to_one")
    assert joined["person_id"].notna().sum() == events["person_id"].notna().sum()  # none lost
    joined["received_date"] = pd.to_datetime(joined["received_at"]).dt.date.fillna(dt.date(1900, 1, 1))
    joined["source"] = joined["source"].fillna("(missing)")
    joined["event_name"] = joined["event_name"].fillna("(missing)")
    status = joined["delivery_status"]
    joined = joined.assign(
        duplicate=status == "duplicate",
        quarantined=status == "quarantined",
        valid=status == "valid",
        attributed=joined["person_id"].notna(),
    )
    return (
        joined.groupby(["received_date", "source", "event_name"])
        .agg(
            delivered_count=("raw_event_key", "size"),
            duplicate_count=("duplicate", "sum"),
            quarantined_count=("quarantined", "sum"),
            valid_count=("valid", "sum"),
            attributed_count=("attributed", "sum"),
        )
        .sort_index()
    )
