"""Plant instrumentation breaks into delivered events, and record them as truth.

Both are off by default and draw nothing from the random stream, so a run without them is
byte-identical to one made before they existed:

- an SDK release that stops sending one event from one platform (``PlantedSdkBreak``);
- a collector outage whose backlog arrives after it ends (``PlantedOutage``): the days it
  covers look empty when they close and are backfilled later.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from lawn.generator.commercial import DAY
from lawn.generator.config import GeneratorConfig
from lawn.generator.events import Event, stable_hash

TRUTH_COLUMNS = [
    "plant",
    "event_name",
    "platform",
    "affected_date",
    "affected_events",
    "last_received_at",
    "is_backfilled_within_48h",
]
HOUR = 3600.0


def apply_instrumentation_breaks(
    events: list[Event], config: GeneratorConfig
) -> tuple[list[Event], pd.DataFrame | None]:
    """Return the deliveries with the configured breaks applied and their truth (None when
    no break is configured)."""
    if config.sdk_break is None and config.outage is None:
        return events, None
    rows: list[dict] = []
    start = config.start_date
    if config.sdk_break is not None:
        brk = config.sdk_break
        kept = [e for e in events if not brk.applies(e.source, e.event_name, e.occurred_s, DAY)]
        dropped = [e for e in events if brk.applies(e.source, e.event_name, e.occurred_s, DAY)]
        per_day = pd.Series([int(e.occurred_s // DAY) for e in dropped], dtype="int64").value_counts()
        for day in range(brk.start_day, config.days):
            rows.append(
                {
                    "plant": "sdk_break",
                    "event_name": brk.event_name,
                    "platform": brk.platform,
                    "affected_date": start + dt.timedelta(days=day),
                    "affected_events": int(per_day.get(day, 0)),
                    "last_received_at": None,
                    "is_backfilled_within_48h": None,
                }
            )
        events = kept
    if config.outage is not None:
        outage = config.outage
        begin, end = outage.start_day * DAY, (outage.start_day + outage.days) * DAY
        by_day: dict[int, list[float]] = {}
        for index, event in enumerate(events):
            if begin <= event.received_s < end:
                jitter = int(stable_hash(config.seed, "outage", event.event_id, index)[:6], 16) / 16**6
                event.received_s = end + (outage.backfill_hours + jitter) * HOUR
                by_day.setdefault(int(event.occurred_s // DAY), []).append(event.received_s)
        for day in range(outage.start_day, outage.start_day + outage.days):
            received = by_day.get(day, [])
            last = max(received) if received else None
            rows.append(
                {
                    "plant": "outage",
                    "event_name": None,
                    "platform": None,
                    "affected_date": start + dt.timedelta(days=day),
                    "affected_events": len(received),
                    "last_received_at": (
                        (dt.datetime.combine(start, dt.time()) + dt.timedelta(seconds=last)).isoformat()
                        if last is not None
                        else None
                    ),
                    "is_backfilled_within_48h": last is not None and last <= (day + 1) * DAY + 48 * HOUR,
                }
            )
    return events, pd.DataFrame(rows, columns=TRUTH_COLUMNS)
