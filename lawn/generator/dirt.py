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

    Sparse (a few percent of events get dirt), so it stays small at any size: ``index`` lists
    the events with invalidating dirt or a late arrival, ``kind`` their ``INVALIDATING`` index
    (``len(INVALIDATING)`` = a late arrival only) and ``value`` the late-arrival delay in days,
    the unknown name's index or the timestamp shift in days (NaN = none); ``redelivered`` lists
    the events delivered twice and ``redelivery_s`` the second delivery's extra delay.
    """

    n_events: int
    index: np.ndarray
    kind: np.ndarray
    value: np.ndarray
    redelivered: np.ndarray
    redelivery_s: np.ndarray

    def batch(self, start: int, stop: int) -> tuple[list[int], list[float], list[float]]:
        """Events ``start`` to ``stop``: each one's kind, value and redelivery delay (0 = none)."""
        size = stop - start
        kinds = np.full(size, len(INVALIDATING), dtype=np.int8)
        values = np.full(size, np.nan)
        extra = np.zeros(size)
        low, high = np.searchsorted(self.index, [start, stop])
        kinds[self.index[low:high] - start] = self.kind[low:high]
        values[self.index[low:high] - start] = self.value[low:high]
        low, high = np.searchsorted(self.redelivered, [start, stop])
        extra[self.redelivered[low:high] - start] = self.redelivery_s[low:high]
        return kinds.tolist(), values.tolist(), extra.tolist()


def draw_dirt_plan(n_events: int, rates: DirtRates, rng: np.random.Generator) -> DirtPlan:
    """Make the draws ``plant_dirt`` makes for ``n_events`` events, in the same order: one
    uniform per event (its dirt kind), then per event the kind's own draw (or the late-arrival
    draws of a valid event), then one redelivery draw per event."""
    shares = np.array([getattr(rates, kind) for kind in INVALIDATING])
    bounds = np.cumsum(shares)
    if bounds[-1] > 0.5:
        raise ValueError(f"invalidating dirt rates add up to {bounds[-1]:.2f}; keep them under 0.5")
    valid = len(INVALIDATING)
    dirty_index, dirty_kind = [], []
    for start in range(0, n_events, DRAW_CHUNK):  # rng.random(n) is its chunks' draws end to end
        stop = min(n_events, start + DRAW_CHUNK)
        kinds = np.searchsorted(bounds, rng.random(stop - start), side="right")
        (hits,) = np.nonzero(kinds < valid)
        dirty_index.append(hits + start)
        dirty_kind.append(kinds[hits])
    invalid = iter(np.concatenate(dirty_index or [np.empty(0, dtype=np.int64)]).tolist())
    invalid_kind = iter(np.concatenate(dirty_kind or [np.empty(0, dtype=np.int64)]).tolist())
    unknown = INVALIDATING.index("unknown_event_name")
    future, ancient = INVALIDATING.index("future_timestamp"), INVALIDATING.index("ancient_timestamp")
    late, draw, uniform = rates.late_arrival, rng.random, rng.uniform
    index, kind, value = [], [], []
    next_invalid, next_kind = next(invalid, n_events), next(invalid_kind, valid)
    for event in range(n_events):
        if event != next_invalid:
            if draw() < late:
                index.append(event)
                kind.append(valid)
                value.append(float(uniform(1, 5)))
            continue
        if next_kind == unknown:
            drawn = float(int(rng.integers(len(UNKNOWN_NAMES))))
        elif next_kind == future:
            drawn = float(uniform(2, 30))
        elif next_kind == ancient:
            drawn = float(uniform(2, 5))
        else:
            drawn = float("nan")
        index.append(event)
        kind.append(next_kind)
        value.append(drawn)
        next_invalid, next_kind = next(invalid, n_events), next(invalid_kind, valid)
    redelivered, redelivery_s = [], []
    duplicate = rates.duplicate
    for event in range(n_events):
        if draw() < duplicate:
            redelivered.append(event)
            redelivery_s.append(float(rng.choice(REDELIVERY_DELAYS)))
    return DirtPlan(
        n_events,
        np.array(index, dtype=np.int64),
        np.array(kind, dtype=np.int8),
        np.array(value, dtype=np.float64),
        np.array(redelivered, dtype=np.int64),
        np.array(redelivery_s, dtype=np.float64),
    )


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
    kinds, values, extras = drawn.batch(0, len(events))
    ledger: list[dict] = []
    for event, kind, value in zip(events, kinds, values, strict=True):
        row = apply_dirt(event, kind, value, plan)
        if row is not None:
            ledger.append(row)
    redeliveries: list[Event] = []
    for event, extra_s in zip(events, extras, strict=True):
        if extra_s:
            copy_, row = redeliver(event, extra_s)
            redeliveries.append(copy_)
            ledger.append(row)
    return events + redeliveries, ledger
