"""The input contract: every raw table lawn reads, its columns, their kinds and meaning.

This module is the one source of truth for what a user's raw data must look like. The
loader (`lawn.raw_loader`), the raw-file gate (`lawn.validate_raw`), the generator and the
"Bring your own data" page (`docs/bring_your_own_data.md`, written by `lawn contract`) all
read it; dbt's source YAML describes the landed tables with the same column names.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import cache
from typing import Literal

from lawn.paths import SEEDS_DIR

# how a column is read: every kind may arrive as text; typed files may carry the native type
Kind = Literal["text", "identifier", "timestamp", "date", "integer", "decimal", "share", "json"]

# the one list of null markers: the identity blocklist's rows flagged is_null_marker (staging
# reads them through the macro null_marker_as_missing, the gate through `null_markers`)
IDENTITY_BLOCKLIST = SEEDS_DIR / "identity" / "identity_blocklist.csv"

KIND_DOC: dict[str, str] = {
    "text": "text",
    "identifier": (
        "text (an id); empty, blank or a null marker written out as text is missing: `NULL`, `\\N`, "
        "`None`, `N/A`, `nan` and the other values flagged `is_null_marker` in "
        "`seeds/identity/identity_blocklist.csv` (any letter case, surrounding spaces ignored); "
        "an id typed as a number (JSON Lines, Parquet) is its text, a whole number sent as a float "
        "or a decimal (`42.0`: a pandas column with a missing value; `1e16`; a NUMERIC(38, 9)) the "
        "integer (`42`, `10000000000000000`) in every format, a float NaN the null marker `nan`; "
        "text is kept as written"
    ),
    "timestamp": (
        "ISO 8601 timestamp as text, `2026-03-01T10:00:00` with an offset (`+02:00`, `+0200`, "
        "hours only `+02`; at most 14:59 either way) or `Z` (upper case); without an offset it "
        "is UTC (not for `occurred_at`); seconds are optional, with an offset or without "
        "(`2026-03-01T10:00Z`, `2026-03-01 10:00`); without an offset a date alone is its "
        "midnight; a fraction finer than a microsecond (`.123456789`) is cut to microseconds, "
        "not rounded; or a typed timestamp (one without a time zone is read as UTC, a typed "
        "date as its midnight UTC); a day the calendar lacks (`2026-02-30`) or hour 24 does "
        "not parse"
    ),
    "date": (
        "`YYYY-MM-DD` (text) or a typed date; a typed timestamp only at midnight (UTC for one "
        "with a zone: a zoned local midnight is another day in UTC, so it is refused, as is any "
        "other time); a day the calendar lacks does not parse"
    ),
    "integer": "integer (text or typed; `7` or `7.0`, no thousands separators)",
    "decimal": "decimal number (text or typed; `1200.50`, no currency sign or thousands separators)",
    "share": (
        "a share as a decimal number (`0.05`), or as a percent the way a spreadsheet's percent "
        "cell exports it (`5%` is 0.05)"
    ),
    "json": "a JSON object: JSON text, or a nested object in JSON Lines / a struct in Parquet",
}


def fold_case(value: str) -> str:
    """Unicode lower case as the macro lower_unicode writes it on every engine: Python's
    lower case, with the dotted capital I as a plain ``i`` and the final sigma as sigma (U+03C2 -> U+03C3)."""
    return value.replace("\u0130", "i").lower().replace("\u03c2", "\u03c3")


def _normal_form(value: str) -> str:
    """The blocklist value as the macro normalize_identifier writes it (for the seed's plain
    values: no whitespace, lower case, no wrapping brackets or quotes, no trailing dots)."""
    value = fold_case(re.sub(r"\s", "", value))
    value = re.sub(r"^[<\"']*(mailto:)?[<\"']*", "", value)
    return re.sub(r"[>\"'.]*$", "", value)


@cache
def blocked_values(identifier_type: str = "*", markers_only: bool = False) -> frozenset[str]:
    """The identity blocklist's values for ``identifier_type`` (only the rows flagged
    is_null_marker with ``markers_only``), lower-cased, in the normal form and as written
    (`null` and `<null>`), as the macro null_marker_as_missing compares them."""
    with IDENTITY_BLOCKLIST.open(encoding="utf-8", newline="") as handle:
        values = [
            row["blocked_value"]
            for row in csv.DictReader(handle)
            if (not markers_only or row["is_null_marker"].strip().lower() == "true")
            and row["identifier_type"] in ("*", identifier_type)
        ]
    return frozenset(_normal_form(value) for value in values) | {value.strip().lower() for value in values}


def null_markers(identifier_type: str = "*") -> frozenset[str]:
    """The null markers of ``identifier_type`` (`blocked_values` flagged is_null_marker)."""
    return blocked_values(identifier_type, markers_only=True)


def catalog_ids(catalog: tuple[str, str]) -> tuple[str, ...]:
    """The ids of a catalog seed (``(file under seeds/, id column)``), sorted, as written."""
    seed, column = catalog
    with (SEEDS_DIR / seed).open(encoding="utf-8", newline="") as handle:
        return tuple(sorted({row[column].strip() for row in csv.DictReader(handle) if row[column].strip()}))


def experiment_metric_catalog() -> dict[str, dict[str, str]]:
    """The experiment-metric catalog (seeds/metrics/experiment_metrics.csv) by metric name:
    its unit type, metric type, window and the rest, as the build reads the seed."""
    seed, column = EXPERIMENT_METRIC_CATALOG
    with (SEEDS_DIR / seed).open(encoding="utf-8", newline="") as handle:
        return {row[column].strip(): row for row in csv.DictReader(handle) if row[column].strip()}


@dataclass(frozen=True)
class RawColumn:
    """One column of a raw table."""

    name: str
    kind: Kind
    meaning: str
    # the file must have this column (optional columns may be absent: they load as empty)
    required: bool = True
    # every row must have a value (otherwise the file is rejected before loading)
    not_null: bool = False
    # share of non-empty values that must parse as the kind (timestamps, dates, numbers);
    # below it the file is rejected, above it the odd bad row is loaded and quarantined by
    # staging
    parse_share: float | None = None
    unique: bool = False
    # timestamps: a value without a UTC offset does not parse (a client's local time is
    # ambiguous; staging quarantines it as INVALID_OCCURRED_AT)
    needs_offset: bool = False
    # every value, trimmed and in lower case (as staging reads it), is one of these
    one_of: tuple[str, ...] = ()
    # a number or share strictly between these bounds (staging's range test, checked at the gate)
    open_interval: tuple[float, float] | None = None
    # a number or share at least the first bound and below the second
    half_open_interval: tuple[float, float] | None = None
    # every id named is in this catalog: (seed file under seeds/, its id column); with
    # ``separator`` the value is a list of ids (spaces removed, empty items ignored)
    names_in: tuple[str, str] | None = None
    separator: str | None = None
    # a list (``separator``): no id twice, and none equal to this other column's value
    distinct_from: str | None = None
    # a date: not before this other date column's value in the same row
    not_before: str | None = None
    # a number: the SQL type staging reads it as (its try_cast; tests_py/test_raw_business_files.py
    # checks the staging models say the same): a value of the right form too large for it
    # (`1e40` as spend, `1e20` impressions) is refused at the gate, not read as null by staging
    staged_as: str | None = None


@dataclass(frozen=True)
class RawTable:
    """One raw table: a file in the raw folder, landed as ``raw.<name>``."""

    name: str
    meaning: str
    required: bool
    columns: tuple[RawColumn, ...]
    # what an absent or empty optional table means for the marts
    when_absent: str = ""

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)

    def column(self, name: str) -> RawColumn:
        return next(column for column in self.columns if column.name == name)


RAW_EVENTS = RawTable(
    name="raw_events",
    meaning="One row per delivery of an event in the canonical envelope (redeliveries included).",
    required=True,
    columns=(
        RawColumn("event_id", "text", "Client-generated unique id of the event; a redelivery repeats it."),
        RawColumn("event_name", "text", "Event name in the tracking plan (`seeds/tracking_plan`)."),
        RawColumn("schema_version", "integer", "Version of the event's schema in the tracking plan."),
        RawColumn("source", "text", "Where the event came from: web, ios, android or backend."),
        RawColumn(
            "occurred_at",
            "timestamp",
            "When it happened, by the client's clock (ISO 8601 with an offset or Z).",
            parse_share=0.5,
            needs_offset=True,
        ),
        RawColumn(
            "received_at",
            "timestamp",
            "When the collector received it (server clock; UTC when it has no offset); drives "
            "incremental loads. A row without one, or whose time does not parse, is quarantined "
            "(INVALID_RECEIVED_AT), an implausible time (dbt vars received_at_*) too "
            "(RECEIVED_AT_OUT_OF_RANGE).",
            parse_share=0.5,
        ),
        RawColumn(
            "anonymous_id", "identifier", "Cookie or app-instance id set before login.", required=False
        ),
        RawColumn("device_id", "identifier", "Device or browser id.", required=False),
        RawColumn("user_id", "identifier", "Your user id, once known.", required=False),
        RawColumn("account_id", "identifier", "Customer account (company) id, once known.", required=False),
        RawColumn(
            "context",
            "json",
            "Platform, app_version, locale, latency_ms, error_code, ip of the client.",
            required=False,
        ),
        RawColumn("properties", "json", "The event's properties, as the tracking plan declares them."),
    ),
)

CRM_ACCOUNTS = RawTable(
    name="crm_accounts",
    meaning="One row per customer account, from the CRM.",
    required=False,
    when_absent="accounts are known from events only: segment, channel, country and owner are empty, "
    "CAC payback has no channel",
    columns=(
        RawColumn("account_id", "identifier", "The account id the events carry.", not_null=True, unique=True),
        RawColumn("account_name", "text", "Company name.", required=False),
        RawColumn("email_domain", "identifier", "The company's email domain.", required=False),
        RawColumn("industry", "text", "Industry as set by sales.", required=False),
        RawColumn("segment", "text", "smb, mid_market or enterprise.", required=False),
        RawColumn(
            "country",
            "text",
            "ISO 3166-1 alpha-2 country code (another value is kept and warned).",
            required=False,
        ),
        RawColumn(
            "created_at",
            "timestamp",
            "When the account was created (empty: its first valid event).",
            required=False,
            parse_share=1.0,
        ),
        RawColumn("acquisition_channel", "text", "Channel that brought the account.", required=False),
        RawColumn("sales_owner", "text", "Account executive who owns the account.", required=False),
    ),
)

MARKETING_SPEND = RawTable(
    name="marketing_spend",
    meaning="Marketing spend by day and channel, from the ad platforms.",
    required=False,
    when_absent="CAC and CAC payback are empty",
    columns=(
        RawColumn("spend_date", "date", "Day of the spend.", not_null=True, parse_share=1.0),
        RawColumn(
            "channel", "text", "Acquisition channel (as crm_accounts.acquisition_channel).", not_null=True
        ),
        RawColumn(
            "spend_usd",
            "decimal",
            "Spend in US dollars.",
            not_null=True,
            parse_share=1.0,
            staged_as="decimal(18, 6)",
        ),
        RawColumn(
            "impressions", "integer", "Ad impressions.", required=False, parse_share=1.0, staged_as="bigint"
        ),
        RawColumn("clicks", "integer", "Ad clicks.", required=False, parse_share=1.0, staged_as="bigint"),
    ),
)

# the metrics an experiment may name (a seed: add a row to measure a new metric)
EXPERIMENT_METRIC_CATALOG = ("metrics/experiment_metrics.csv", "metric_name")

EXPERIMENT_REGISTRY = RawTable(
    name="experiment_registry",
    meaning="Pre-registration of every randomised experiment.",
    required=False,
    when_absent="experiment marts are empty; exposures to unregistered experiments stay in fct_events",
    columns=(
        RawColumn(
            "experiment_id", "text", "Id the experiment_exposed events carry.", not_null=True, unique=True
        ),
        RawColumn("hypothesis", "text", "What the experiment is expected to show.", required=False),
        RawColumn("randomization_unit", "text", "user or account.", one_of=("user", "account")),
        RawColumn(
            "primary_metric",
            "text",
            "Metric id in seeds/metrics/experiment_metrics.csv.",
            names_in=EXPERIMENT_METRIC_CATALOG,
        ),
        RawColumn(
            "guardrail_metrics",
            "text",
            "Metric ids, `|`-separated.",
            required=False,
            names_in=EXPERIMENT_METRIC_CATALOG,
            separator="|",
            distinct_from="primary_metric",
        ),
        RawColumn(
            "minimum_detectable_effect",
            "decimal",
            "Registered MDE (absolute).",
            required=False,
            parse_share=1.0,
            staged_as="double",
        ),
        RawColumn(
            "alpha", "share", "Significance level.", required=False, parse_share=1.0, open_interval=(0.0, 0.5)
        ),
        RawColumn(
            "power", "share", "Planned power.", required=False, parse_share=1.0, open_interval=(0.0, 1.0)
        ),
        RawColumn(
            "planned_sample_size_per_arm",
            "integer",
            "Planned units per arm.",
            required=False,
            parse_share=1.0,
            staged_as="integer",
        ),
        RawColumn("start_date", "date", "First day of exposure.", parse_share=1.0),
        RawColumn("end_date", "date", "Last day of exposure.", parse_share=1.0, not_before="start_date"),
        RawColumn(
            "holdout_share",
            "share",
            "Share of units held out.",
            required=False,
            parse_share=1.0,
            half_open_interval=(0.0, 1.0),
        ),
        RawColumn("owner", "text", "Who owns the experiment.", required=False),
        RawColumn("registered_at", "timestamp", "When it was registered.", required=False, parse_share=1.0),
    ),
)

RAW_TABLES: dict[str, RawTable] = {
    table.name: table for table in (RAW_EVENTS, CRM_ACCOUNTS, MARKETING_SPEND, EXPERIMENT_REGISTRY)
}

# the canonical event envelope, in order (the generator writes it, staging reads it)
RAW_EVENT_COLUMNS: tuple[str, ...] = RAW_EVENTS.column_names

# file formats the loader reads, by file name ending, in the order they are looked for; `.json`
# is JSON Lines too: what BigQuery's and Snowflake's JSON unloads write (one object per line,
# `000000000000.json`, `data_0_0_0.json.gz`); a JSON array in it is named as such
FILE_FORMATS: dict[str, str] = {
    ".csv": "csv",
    ".csv.gz": "csv",
    ".parquet": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".jsonl.gz": "jsonl",
    ".ndjson.gz": "jsonl",
    ".json.gz": "jsonl",
}
