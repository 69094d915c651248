"""Plant the dirt real pipelines see into clean events, and record what was planted where."""

from __future__ import annotations

import copy
import json

import numpy as np

from lawn.generator.commercial import DAY
from lawn.generator.config import EXPECTED_REASON, DirtRates
from lawn.generator.events import Event
from lawn.tracking_plan import EventSpec

UNKNOWN_NAMES = ("feature_usedd", "FeatureUsed", "page_view", "checkout_started", "button_clicked")
INVALIDATING = tuple(EXPECTED_REASON)


def _wrong_type(spec: EventSpec, props: dict) -> str | None:
    for prop in spec.properties:
        if prop.name in props:
            props[prop.name] = "lots" if prop.data_type in ("integer", "number") else 12345
            return prop.name
    return None


def _missing_required(spec: EventSpec, props: dict) -> str | None:
    for prop in spec.required:
        if prop.name in props:
            del props[prop.name]
            return prop.name
    return None


def _out_of_range(spec: EventSpec, props: dict) -> str | None:
    for prop in spec.properties:
        if prop.name in props and prop.max_value is not None:
            high = prop.max_value + 1 if prop.max_value < 100 else prop.max_value * 10
            value = high if prop.min_value is None or prop.min_value <= 0 else prop.min_value - 1
            props[prop.name] = int(value) if prop.data_type == "integer" else float(value)
            return prop.name
    return None


def plant_dirt(
    events: list[Event], plan: dict[tuple[str, int], EventSpec], rates: DirtRates, rng: np.random.Generator
) -> tuple[list[Event], list[dict]]:
    """Return the delivered events (dirt applied, redeliveries appended) and the dirt ledger."""
    shares = np.array([getattr(rates, kind) for kind in INVALIDATING])
    bounds = np.cumsum(shares)
    if bounds[-1] > 0.5:
        raise ValueError(f"invalidating dirt rates add up to {bounds[-1]:.2f}; keep them under 0.5")
    ledger: list[dict] = []
    draws = rng.random(len(events))
    for event, draw in zip(events, draws, strict=True):
        kind_index = int(np.searchsorted(bounds, draw, side="right"))
        if kind_index >= len(INVALIDATING):
            if rng.random() < rates.late_arrival:
                event.received_s = event.occurred_s + float(rng.uniform(1, 5)) * DAY
                ledger.append(
                    {
                        "event_id": event.event_id,
                        "event_name": event.event_name,
                        "dirt_kind": "late_arrival",
                        "expected_reason_code": None,
                        "property_name": None,
                    }
                )
            continue
        kind = INVALIDATING[kind_index]
        original_name = event.event_name
        spec = plan[(event.event_name, event.schema_version)]
        prop_name: str | None = None
        if kind == "malformed_json":
            event.raw_overrides["properties"] = json.dumps(event.properties)[:-1]
        elif kind == "unknown_event_name":
            event.event_name = UNKNOWN_NAMES[int(rng.integers(len(UNKNOWN_NAMES)))]
        elif kind == "missing_required_property":
            prop_name = _missing_required(spec, event.properties)
        elif kind == "wrong_type":
            prop_name = _wrong_type(spec, event.properties)
        elif kind == "out_of_range":
            prop_name = _out_of_range(spec, event.properties)
        elif kind == "future_timestamp":
            event.occurred_s = event.received_s + float(rng.uniform(2, 30)) * DAY
        elif kind == "ancient_timestamp":
            event.occurred_s = event.received_s - float(rng.uniform(2, 5)) * 365 * DAY
        elif kind == "no_identifier":
            event.anonymous_id = event.device_id = event.user_id = event.account_id = None
        if kind in ("missing_required_property", "wrong_type", "out_of_range") and prop_name is None:
            continue  # this event has no property the dirt applies to: it stays clean
        ledger.append(
            {
                "event_id": event.event_id,
                "event_name": original_name,
                "dirt_kind": kind,
                "expected_reason_code": EXPECTED_REASON[kind],
                "property_name": prop_name,
            }
        )
    redeliveries: list[Event] = []
    for event in events:
        if rng.random() < rates.duplicate:
            copy_ = copy.deepcopy(event)
            copy_.received_s = event.received_s + float(rng.choice([2.0, 90.0, 3600.0, DAY]))
            redeliveries.append(copy_)
            ledger.append(
                {
                    "event_id": event.event_id,
                    "event_name": event.event_name,
                    "dirt_kind": "duplicate",
                    "expected_reason_code": None,
                    "property_name": None,
                }
            )
    return events + redeliveries, ledger
