"""Plant the dirt real pipelines see into clean events, and record what was planted where."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass

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


DRAW_CHUNK = 1 << 20
REDELIVERY_DELAYS = [2.0, 90.0, 3600.0, DAY]


@dataclass
class DirtPlan:
    """Every random draw of the dirt step, made up front: they depend on the number of events
    only, never on their content, so the streaming generator can apply them batch by batch.

    ``kind[i]`` indexes ``INVALIDATING`` (``len(INVALIDATING)`` = no invalidating dirt);
    ``value[i]`` is the late-arrival delay in days, the unknown name's index or the timestamp
    shift in days (NaN = none); ``redelivery_s[i]`` is the duplicate's extra delay (0 = none).
    """

    kind: np.ndarray
    value: np.ndarray
    redelivery_s: np.ndarray


def draw_dirt_plan(n_events: int, rates: DirtRates, rng: np.random.Generator) -> DirtPlan:
    """Make the draws ``plant_dirt`` makes for ``n_events`` events, in the same order."""
    shares = np.array([getattr(rates, kind) for kind in INVALIDATING])
    bounds = np.cumsum(shares)
    if bounds[-1] > 0.5:
        raise ValueError(f"invalidating dirt rates add up to {bounds[-1]:.2f}; keep them under 0.5")
    kinds = np.empty(n_events, dtype=np.int8)
    for start in range(0, n_events, DRAW_CHUNK):  # rng.random(n) is its chunks' draws end to end
        stop = min(n_events, start + DRAW_CHUNK)
        kinds[start:stop] = np.searchsorted(bounds, rng.random(stop - start), side="right")
    values = np.full(n_events, np.nan)
    valid, unknown = len(INVALIDATING), INVALIDATING.index("unknown_event_name")
    future, ancient = INVALIDATING.index("future_timestamp"), INVALIDATING.index("ancient_timestamp")
    late = rates.late_arrival
    for index, kind in enumerate(kinds.tolist()):
        if kind >= valid:
            if rng.random() < late:
                values[index] = float(rng.uniform(1, 5))
        elif kind == unknown:
            values[index] = int(rng.integers(len(UNKNOWN_NAMES)))
        elif kind == future:
            values[index] = float(rng.uniform(2, 30))
        elif kind == ancient:
            values[index] = float(rng.uniform(2, 5))
    redelivery = np.zeros(n_events)
    duplicate = rates.duplicate
    for index in range(n_events):
        if rng.random() < duplicate:
            redelivery[index] = float(rng.choice(REDELIVERY_DELAYS))
    return DirtPlan(kinds, values, redelivery)


def _ledger_row(event_id: str, event_name: str, kind: str, prop_name: str | None = None) -> dict:
    return {
        "event_id": event_id,
        "event_name": event_name,
        "dirt_kind": kind,
        "expected_reason_code": EXPECTED_REASON.get(kind),
        "property_name": prop_name,
    }


def apply_dirt(
    event: Event, kind_index: int, value: float, plan: dict[tuple[str, int], EventSpec]
) -> dict | None:
    """Apply one event's planned dirt in place; return its ledger row (None = left clean)."""
    if kind_index >= len(INVALIDATING):
        if value == value:  # not NaN: a late arrival
            event.received_s = event.occurred_s + value * DAY
            return _ledger_row(event.event_id, event.event_name, "late_arrival")
        return None
    kind = INVALIDATING[kind_index]
    original_name = event.event_name
    spec = plan[(event.event_name, event.schema_version)]
    prop_name: str | None = None
    if kind == "malformed_json":
        event.raw_overrides["properties"] = json.dumps(event.properties)[:-1]
    elif kind == "unknown_event_name":
        event.event_name = UNKNOWN_NAMES[int(value)]
    elif kind == "missing_required_property":
        prop_name = _missing_required(spec, event.properties)
    elif kind == "wrong_type":
        prop_name = _wrong_type(spec, event.properties)
    elif kind == "out_of_range":
        prop_name = _out_of_range(spec, event.properties)
    elif kind == "future_timestamp":
        event.occurred_s = event.received_s + value * DAY
    elif kind == "ancient_timestamp":
        event.occurred_s = event.received_s - value * 365 * DAY
    elif kind == "no_identifier":
        event.anonymous_id = event.device_id = event.user_id = event.account_id = None
    if kind in ("missing_required_property", "wrong_type", "out_of_range") and prop_name is None:
        return None  # this event has no property the dirt applies to: it stays clean
    return _ledger_row(event.event_id, original_name, kind, prop_name)


def redeliver(event: Event, extra_s: float) -> tuple[Event, dict]:
    """A second delivery of ``event`` (after its dirt), ``extra_s`` seconds later, and its ledger row."""
    copy_ = copy.deepcopy(event)
    copy_.received_s = event.received_s + extra_s
    return copy_, _ledger_row(event.event_id, event.event_name, "duplicate")


def plant_dirt(
    events: list[Event], plan: dict[tuple[str, int], EventSpec], rates: DirtRates, rng: np.random.Generator
) -> tuple[list[Event], list[dict]]:
    """Return the delivered events (dirt applied, redeliveries appended) and the dirt ledger."""
    drawn = draw_dirt_plan(len(events), rates, rng)
    ledger: list[dict] = []
    for event, kind, value in zip(events, drawn.kind.tolist(), drawn.value.tolist(), strict=True):
        row = apply_dirt(event, kind, value, plan)
        if row is not None:
            ledger.append(row)
    redeliveries: list[Event] = []
    for event, extra_s in zip(events, drawn.redelivery_s.tolist(), strict=True):
        if extra_s:
            copy_, row = redeliver(event, extra_s)
            redeliveries.append(copy_)
            ledger.append(row)
    return events + redeliveries, ledger
