"""The tracking plan's own gate: the two seed files people edit by hand
(``seeds/tracking_plan/tracking_plan_events.csv`` and ``tracking_plan_properties.csv``) are
checked before any raw file lands, and the first mistake is one line naming the file, its
line and the value (exit 2, as a broken raw file).

A probe (2026-12-07) found plan edits the build took without a word while every event of the
edited event was quarantined: a name with a space after it (raw names are trimmed, so it
could never match), a minimum above the maximum, allowed values written ``pdf | csv``; and
others that failed the build after landing with "Got 1 result" naming no row (a repeated row,
an unknown data type or status, a property of an event version the plan lacks, a regular
expression the engine cannot compile).

What is checked and where each rule comes from (one source of truth each):
- the columns: the seeds' ``column_types`` (seeds/tracking_plan/_tracking_plan__seeds.yml);
- the typed columns parse as dbt loads them (integer, date, boolean, double);
- the sets of values: the ``in_set`` rules of the staging models' ``value_rules`` tests
  (models/staging/tracking_plan/_tracking_plan__models.yml), compared as staging reads the
  column (lower-cased where it lower-cases);
- names (event, property) are their own trimmed text, and not empty;
- one row per event version, one per property of an event version, and every property's
  event version in the events file;
- a numeric range whose minimum is at most its maximum; allowed values without empty or
  padded items; a pattern DuckDB's regular expressions compile.
"""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb
import yaml

from lawn.paths import REPO_ROOT, TRACKING_PLAN_DIR
from lawn.seed_check import as_loaded, kind_of, parses, shown

EVENTS = "tracking_plan_events"
PROPERTIES = "tracking_plan_properties"
SEEDS_YAML = "_tracking_plan__seeds.yml"
STAGING_YAML = REPO_ROOT / "models" / "staging" / "tracking_plan" / "_tracking_plan__models.yml"
# seed column -> (staging model, its column, lower-cased by staging)
SET_COLUMNS = {
    EVENTS: {"category": ("stg_tracking_plan__events", "event_category", False),
             "status": ("stg_tracking_plan__events", "version_status", True)},
    PROPERTIES: {"data_type": ("stg_tracking_plan__properties", "data_type", True),
                 "pii_class": ("stg_tracking_plan__properties", "pii_class", False)},
}  # fmt: skip


class PlanError(ValueError):
    """A tracking-plan seed the build would misread: one line."""


def check_plan(plan_dir: Path = TRACKING_PLAN_DIR) -> str | None:
    """The first problem of the tracking plan as one line, or None."""
    try:
        _check(plan_dir)
    except PlanError as exc:
        return str(exc)
    return None


def _rows(path: Path, columns: dict[str, str]) -> list[tuple[int, dict[str, str]]]:
    """(CSV line, row) pairs; the header must hold exactly the seed's columns."""
    if not path.is_file():
        raise PlanError(f"{shown(path)}: file not found (the tracking plan needs it)")
    with open(path, newline="", encoding="utf-8-sig") as handle:  # a spreadsheet's BOM too
        reader = csv.DictReader(handle)
        header = [name.strip() for name in reader.fieldnames or []]
        missing = [name for name in columns if name not in header]
        unknown = [name for name in header if name not in columns]
        if missing or unknown:
            said = [f"missing column {', '.join(map(repr, missing))}"] if missing else []
            said += [f"unknown column {', '.join(map(repr, unknown))}"] if unknown else []
            raise PlanError(f"{shown(path)} line 1: {'; '.join(said)} (columns: {', '.join(columns)})")
        return [
            (reader.line_num, {k.strip(): (v or "") for k, v in row.items() if k is not None})
            for row in reader
        ]


def _typed(path: Path, line: int, column: str, value: str, kind: str) -> None:
    """A typed column's text parses as dbt's seed load reads it (empty is null; a boolean is
    not trimmed, as DuckDB does not trim it), by the configuration seeds' rule."""
    wanted = kind_of(kind)
    text = as_loaded(value, wanted)
    if text and not parses(text, wanted):
        article = "an" if kind[0] in "aeiou" else "a"
        raise PlanError(f"{shown(path)} line {line}: {column} {value!r} is not {article} {kind}")


def _sets() -> dict[tuple[str, str], list[str]]:
    """(staging model, column) -> the values its value_rules test accepts."""
    document = yaml.safe_load(STAGING_YAML.read_text())
    sets = {}
    for model in document.get("models", []):
        for test in model.get("data_tests", []) or []:
            rules = (test.get("value_rules") or {}).get("arguments", {}).get("rules", [])
            for rule in rules:
                if "in_set" in rule:
                    sets[(model["name"], rule["column"])] = [str(v) for v in rule["in_set"]]
    return sets


def _check(plan_dir: Path) -> None:
    seeds = yaml.safe_load((plan_dir / SEEDS_YAML).read_text())["seeds"]
    types = {seed["name"]: seed["config"]["column_types"] for seed in seeds}
    sets = _sets()
    versions: dict[tuple[str, str], int] = {}
    for name in (EVENTS, PROPERTIES):
        path = plan_dir / f"{name}.csv"
        seen: dict[tuple[str, ...], int] = {}
        for line, row in _rows(path, types[name]):
            for column, kind in types[name].items():
                if kind != "varchar":
                    _typed(path, line, column, row[column], kind)
            if not row["schema_version"].strip():
                raise PlanError(f"{shown(path)} line {line}: schema_version is empty")
            for column in ("event_name", "property_name") if name == PROPERTIES else ("event_name",):
                value = row[column]
                if not value.strip():
                    raise PlanError(f"{shown(path)} line {line}: {column} is empty")
                if value != value.strip():
                    raise PlanError(
                        f"{shown(path)} line {line}: {column} {value!r} has white space around it "
                        "(events' names are trimmed, so none could match it)"
                    )
            for column, (model, staged, lowered) in SET_COLUMNS[name].items():
                allowed = sets.get((model, staged))
                value = row[column].lower() if lowered else row[column]
                if allowed is not None and value not in allowed:
                    accepted, where = ", ".join(allowed), f"{shown(path)} line {line}"
                    raise PlanError(f"{where}: {column} {row[column]!r} is not one of {accepted}")
            key = tuple(row[c].strip() for c in ("event_name", "schema_version", "property_name") if c in row)
            if key in seen:
                unit = "property of an event version" if name == PROPERTIES else "event version"
                where = f"{shown(path)} line {line}"
                raise PlanError(f"{where}: repeats line {seen[key]} ({' / '.join(key)}: one row per {unit})")
            seen[key] = line
            if name == EVENTS:
                versions[(row["event_name"], _version(row["schema_version"]))] = line
            else:
                _property_rules(path, line, row, versions)


def _version(text: str) -> str:
    """A schema_version as dbt loads it (an integer: `2.0` is 2)."""
    return str(int(float(text)))


def _property_rules(path: Path, line: int, row: dict[str, str], versions: dict[tuple[str, str], int]) -> None:
    version = _version(row["schema_version"])
    if (row["event_name"], version) not in versions:
        raise PlanError(
            f"{shown(path)} line {line}: event {row['event_name']!r} version {version} is not in "
            f"{EVENTS}.csv (a property needs its event version)"
        )
    low, high = row["min_value"].strip(), row["max_value"].strip()
    if low and high and float(low) > float(high):
        raise PlanError(f"{shown(path)} line {line}: min_value {low} is above max_value {high}")
    allowed = row["allowed_values"]
    if allowed.strip():
        for item in allowed.split("|"):
            if not item or item != item.strip():
                raise PlanError(
                    f"{shown(path)} line {line}: allowed_values {allowed!r} has an empty or padded item "
                    f"({item!r}): items are separated by | alone and compared exactly"
                )
    pattern = row["pattern"]
    if pattern.strip():
        try:
            with duckdb.connect() as con:
                con.execute("select regexp_matches('', ?)", [pattern]).fetchall()
        except duckdb.Error as exc:
            reason = str(exc).splitlines()[0]
            raise PlanError(
                f"{shown(path)} line {line}: pattern {pattern!r} does not compile ({reason})"
            ) from None
