"""The tracking plan (schema registry): load it and check a single event against it.

The CSV files under ``seeds/tracking_plan`` are the one source of truth. dbt loads them as
seeds and validates every event in SQL; this module reads the same files so the generator
knows which properties are required and so tests can compute expectations independently.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

from lawn.paths import TRACKING_PLAN_DIR


@dataclass(frozen=True)
class PropertySpec:
    """One property of one event version."""

    name: str
    data_type: str
    is_required: bool
    allowed_values: tuple[str, ...] | None
    min_value: float | None
    max_value: float | None
    pattern: str | None
    pii_class: str


@dataclass(frozen=True)
class EventSpec:
    """One event name at one schema version."""

    event_name: str
    schema_version: int
    status: str
    properties: tuple[PropertySpec, ...]

    @property
    def required(self) -> list[PropertySpec]:
        return [prop for prop in self.properties if prop.is_required]


def _opt_float(value: str) -> float | None:
    return float(value) if value.strip() else None


def load_tracking_plan(plan_dir: Path = TRACKING_PLAN_DIR) -> dict[tuple[str, int], EventSpec]:
    """Read the plan into ``{(event_name, schema_version): EventSpec}``."""
    props: dict[tuple[str, int], list[PropertySpec]] = {}
    with open(plan_dir / "tracking_plan_properties.csv", newline="", encoding="utf-8-sig") as handle:
        for row in csv.DictReader(handle):
            key = (row["event_name"], int(float(row["schema_version"])))  # `2.0` is 2, as dbt loads it
            allowed = row["allowed_values"].strip()
            props.setdefault(key, []).append(
                PropertySpec(
                    name=row["property_name"],
                    data_type=row["data_type"],
                    is_required=row["is_required"].strip().lower() == "true",
                    allowed_values=tuple(allowed.split("|")) if allowed else None,
                    min_value=_opt_float(row["min_value"]),
                    max_value=_opt_float(row["max_value"]),
                    pattern=row["pattern"] or None,
                    pii_class=row["pii_class"],
                )
            )
    plan: dict[tuple[str, int], EventSpec] = {}
    with open(plan_dir / "tracking_plan_events.csv", newline="", encoding="utf-8-sig") as handle:
        for row in csv.DictReader(handle):
            key = (row["event_name"], int(float(row["schema_version"])))  # `2.0` is 2, as dbt loads it
            plan[key] = EventSpec(
                event_name=key[0],
                schema_version=key[1],
                status=row["status"],
                properties=tuple(props.get(key, [])),
            )
    return plan


def property_problems(spec: EventSpec, properties: dict) -> list[tuple[str, str]]:
    """Return ``(reason_code, property_name)`` for each way ``properties`` breaks ``spec``.

    This is a plain-Python statement of the rules the SQL validation applies; tests use it
    as the independent expectation for the quarantine model.
    """
    problems: list[tuple[str, str]] = []
    for prop in spec.properties:
        reason = _first_problem(prop, properties.get(prop.name))
        if reason is not None:
            problems.append((reason, prop.name))
    return problems


def _first_problem(prop: PropertySpec, value: object) -> str | None:
    """The first rule ``value`` breaks, in the order the SQL applies them."""
    if value is None:
        return "MISSING_REQUIRED_PROPERTY" if prop.is_required else None
    if not _has_type(value, prop.data_type):
        return "WRONG_TYPE"
    if prop.allowed_values is not None and str(value) not in prop.allowed_values:
        return "VALUE_NOT_ALLOWED"
    if isinstance(value, (int, float)) and (
        (prop.min_value is not None and value < prop.min_value)
        or (prop.max_value is not None and value > prop.max_value)
    ):
        return "OUT_OF_RANGE"
    if prop.pattern is not None and re.search(prop.pattern, str(value)) is None:
        return "PATTERN_MISMATCH"
    return None


def _has_type(value: object, data_type: str) -> bool:
    if data_type == "string":
        return isinstance(value, str)
    if data_type == "boolean":
        return isinstance(value, bool)
    if isinstance(value, bool):
        return False
    if data_type == "integer":
        # JSON Schema's integer: a number whose value is whole (5.0, 5e0) is one, up to 2**53
        # where the SQL decides on a double (macros/portability/integer_property.sql)
        return isinstance(value, int) or (
            isinstance(value, float) and value.is_integer() and abs(value) <= 2**53
        )
    if data_type == "number":
        return isinstance(value, (int, float))
    raise ValueError(f"tracking plan uses unknown data_type {data_type!r}")
