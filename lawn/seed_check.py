"""Every configuration seed's own gate: the CSV files under ``seeds/`` that people edit by hand
(action rules, automation holdouts, bandits, SLOs, retention, identity weights, ...) are
checked before any raw file lands, and the first mistake is one line naming the file, its line,
the column and the value (exit 2, as a broken raw file or a tracking-plan mistake).

A probe (2026-12-07) set an automation holdout's share to ``abc``, ``1`` or ``10%``, a bandit's
reward window to 0 and its holdout share to 0 or 1: each time the nightly landed the raw files,
then failed at the build step (exit 1) with a dbt test's name, no row, and terminal colour
codes in the message.

The rules are the seeds' own, read from their YAML files (one source of truth; nothing is
restated here): the ``column_types`` of each seed (the typed columns must parse as dbt-duckdb
loads them); the column tests ``primary_key`` and ``unique``; and the seed's tests
``compound_primary_key``, ``not_null_columns`` and ``value_rules`` (accepted values and sets,
ranges with their ``strictly`` bounds). An empty value is null, and passes every rule but
not-null, as in the tests. Rules between rows or seeds (relationships, singular tests) stay
dbt's: the build names them. The tracking plan has its own, stricter gate (lawn/plan_check.py).
"""

from __future__ import annotations

import csv
import datetime as dt
import math
import re
from pathlib import Path

import yaml

from lawn.paths import REPO_ROOT

SEEDS_DIR = REPO_ROOT / "seeds"
# what DuckDB's CSV reader takes as a boolean (dbt-duckdb loads seeds with it)
BOOLEANS = {"true", "false", "t", "f", "1", "0", "yes", "no", "y", "n"}
INTEGER_TYPES = {"integer", "int", "bigint", "smallint", "tinyint", "hugeint"}
NUMBER_TYPES = {"double", "float", "real", "decimal", "numeric"}


class SeedError(ValueError):
    """A configuration seed the build would refuse or misread: one line."""


def check_seeds(seeds_dir: Path = SEEDS_DIR) -> str | None:
    """The first problem of any configuration seed as one line, or None."""
    try:
        for document in sorted(seeds_dir.glob("*/_*.yml")):
            for seed in (yaml.safe_load(document.read_text()) or {}).get("seeds") or []:
                _check_seed(document.parent / f"{seed['name']}.csv", seed)
    except SeedError as exc:
        return str(exc)
    return None


def shown(path: Path) -> str:
    return str(path.relative_to(REPO_ROOT)) if path.is_relative_to(REPO_ROOT) else str(path)


def kind_of(declared: str) -> str:
    base = declared.lower().split("(")[0].strip()
    if base in INTEGER_TYPES:
        return "integer"
    if base in NUMBER_TYPES:
        return "number"
    if base in ("date", "timestamp", "boolean"):
        return base
    return "text"


DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# what DuckDB casts to a timestamp: a date, then optionally a time (seconds and fraction
# optional) and an offset; Python's fromisoformat alone also takes 2026-W09-7 or 20260101
TIMESTAMP = re.compile(
    r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?"
)


def as_loaded(value: str, kind: str) -> str:
    """The text dbt-duckdb's seed load casts: trimmed, except a boolean's, which DuckDB does
    not trim (`true ` failed the load); a value of spaces alone is empty (null)."""
    return value if kind == "boolean" and value.strip() else value.strip()


def parses(text: str, kind: str) -> bool:
    """Whether dbt-duckdb's seed load reads ``text`` (already trimmed, except a boolean, which
    DuckDB does not trim: `true ` failed the load) as ``kind``."""
    try:
        if kind == "integer":
            return float(text).is_integer()  # `30.0` loads as 30, as DuckDB casts it
        if kind == "number":
            return math.isfinite(float(text))
        if kind == "date":
            return bool(DATE.fullmatch(text)) and bool(dt.date.fromisoformat(text))
        if kind == "timestamp":
            fraction = re.sub(r"(\.\d{6})\d+", r"\1", text)  # Python reads microseconds at most
            return bool(TIMESTAMP.fullmatch(text)) and bool(dt.datetime.fromisoformat(fraction))
        if kind == "boolean":
            return text.lower() in BOOLEANS
    except ValueError:
        return False
    return True


def _rules(seed: dict) -> tuple[list[tuple[list[str], bool]], list[str], list[dict]]:
    """(keys: column lists unique, and whether never empty (a primary key) or only unique
    where present (dbt's unique); columns never empty; value rules)."""
    keys: list[tuple[list[str], bool]] = []
    required: list[str] = []
    values: list[dict] = []
    for test in seed.get("data_tests") or []:
        if not isinstance(test, dict):
            continue
        for name, body in test.items():
            arguments = (body or {}).get("arguments", body or {})
            if name == "compound_primary_key":
                keys.append((list(arguments.get("column_list") or []), True))
            elif name == "not_null_columns":
                required += list(arguments.get("columns") or [])
            elif name == "value_rules":
                values += list(arguments.get("rules") or [])
    for column in seed.get("columns") or []:
        for test in column.get("data_tests") or []:
            name = test if isinstance(test, str) else next(iter(test))
            if name == "accepted_values":
                body = test[name] or {}
                listed = (body.get("arguments") or body).get("values") or []
                values.append({"column": column["name"], "accepted_values": listed})
            elif name in ("primary_key", "unique"):
                keys.append(([column["name"]], name == "primary_key"))
            elif name == "not_null":
                required.append(column["name"])
    return keys, required, values


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _breaks(rule: dict, text: str) -> str | None:
    """How ``text`` (not empty) breaks one value rule, or None."""
    for listed in ("accepted_values", "in_set"):
        if listed in rule and not isinstance(rule[listed], list):
            return None  # a Jinja expression (a var's keys): left to the test, which renders it
        if listed in rule:
            allowed = [str(value) for value in rule[listed]]
            numbers = [_number(value) for value in allowed]
            same = text in allowed or (_number(text) is not None and _number(text) in numbers)
            return None if same else f"is not one of {', '.join(allowed)}"
    low, high = rule.get("min_value"), rule.get("max_value")
    if low is None and high is None:
        return None  # a pattern: left to the test (the engine's regular expressions)
    value = _number(text)
    strict = rule.get("strictly")
    open_low, open_high = strict in (True, "min"), strict in (True, "max")
    if value is None or not math.isfinite(value):
        return "is not a number"
    below = low is not None and (value <= low if open_low else value < low)
    above = high is not None and (value >= high if open_high else value > high)
    if not (below or above):
        return None
    bounds = []
    if low is not None:
        bounds.append(f"{'above' if open_low else 'at least'} {low:g}")
    if high is not None:
        bounds.append(f"{'below' if open_high else 'at most'} {high:g}")
    return f"must be {' and '.join(bounds)}"


def _check_seed(path: Path, seed: dict) -> None:
    types = (seed.get("config") or {}).get("column_types") or {}
    if not path.is_file():
        raise SeedError(f"{shown(path)}: file not found (the seed {seed['name']} needs it)")
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            header = [name.strip() for name in reader.fieldnames or []]
            missing = [name for name in types if name not in header]
            if missing:
                raise SeedError(f"{shown(path)} line 1: missing column {', '.join(map(repr, missing))}")
            rows = []
            for row in reader:
                if None in row:  # DictReader's key for the values beyond the header
                    where = f"{shown(path)} line {reader.line_num}"
                    raise SeedError(f"{where}: more values than the header's {len(header)} columns")
                rows.append((reader.line_num, {k.strip(): (v or "") for k, v in row.items()}))
    except UnicodeDecodeError:
        raise SeedError(f"{shown(path)}: not UTF-8 text") from None
    except csv.Error as exc:
        raise SeedError(f"{shown(path)}: not a readable CSV file ({exc})") from None
    keys, required, values = _rules(seed)
    seen: list[dict[tuple[str, ...], int]] = [{} for _ in keys]
    for line, row in rows:
        where = f"{shown(path)} line {line}"
        for column, declared in types.items():
            kind = kind_of(str(declared))
            raw = row.get(column, "")
            text = as_loaded(raw, kind)
            if text and not parses(text, kind):
                raise SeedError(
                    f"{where}: {column} {text!r} is not {'an' if kind == 'integer' else 'a'} {kind}"
                )
        for column in required:
            if column in row and not row[column].strip():
                raise SeedError(f"{where}: {column} is empty (it may not be)")
        for rule in values:
            column = rule.get("column")
            raw = row.get(column, "")
            # a set compares the value as loaded (`email_tool ` is not `email_tool` to the
            # test); a range reads it as a number, spaces and all
            text = raw if "accepted_values" in rule or "in_set" in rule else raw.strip()
            if column in row and raw.strip() and (broken := _breaks(rule, text)):
                raise SeedError(f"{where}: {column} {text!r} {broken}")
        for index, (columns, is_primary) in enumerate(keys):
            key = tuple(row.get(column, "").strip() for column in columns)
            if not all(key) and not is_primary:
                continue  # unique where present, as dbt's unique test
            if not all(key):
                empty = next(column for column, part in zip(columns, key, strict=True) if not part)
                raise SeedError(f"{where}: {empty} is empty (part of the key {', '.join(columns)})")
            if key in seen[index]:
                raise SeedError(
                    f"{where}: repeats line {seen[index][key]} ({', '.join(columns)} {' / '.join(key)}: "
                    "one row each)"
                )
            seen[index][key] = line
