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


class InstrumentationBreaks:
    """The configured breaks, applied batch by batch to the deliveries in their order; keeps
    only counts per day, so the streaming generator can feed it any number of events."""

    def __init__(self, config: GeneratorConfig) -> None:
        self.config = config
        self.delivered = 0  # position in the deliveries kept so far (the outage jitter hangs on it)
        self.dropped_per_day: dict[int, int] = {}
        self.backlog_per_day: dict[int, tuple[int, float]] = {}  # day -> (events, last received)

    @property
    def active(self) -> bool:
        return self.config.sdk_break is not None or self.config.outage is not None

    def apply(self, events: list[Event]) -> list[Event]:
        """The next deliveries with the breaks applied (dropped ones left out)."""
        if not self.active:
            self.delivered += len(events)
            return events
        config = self.config
        if config.sdk_break is not None:
            brk = config.sdk_break
            kept = []
            for event in events:
                if brk.applies(event.source, event.event_name, event.occurred_s, DAY):
                    day = int(event.occurred_s // DAY)
                    self.dropped_per_day[day] = self.dropped_per_day.get(day, 0) + 1
                else:
                    kept.append(event)
            events = kept
        if config.outage is not None:
            outage = config.outage
            begin, end = outage.start_day * DAY, (outage.start_day + outage.days) * DAY
            for index, event in enumerate(events, start=self.delivered):
                if begin <= event.received_s < end:
                    jitter = int(stable_hash(config.seed, "outage", event.event_id, index)[:6], 16) / 16**6
                    event.received_s = end + (outage.backfill_hours + jitter) * HOUR
                    day = int(event.occurred_s // DAY)
                    count, last = self.backlog_per_day.get(day, (0, event.received_s))
                    self.backlog_per_day[day] = (count + 1, max(last, event.received_s))
        self.delivered += len(events)
        return events

    def truth(self) -> pd.DataFrame | None:
        """What the breaks did (None when no break is configured)."""
        if not self.active:
            return None
        config, rows, start = self.config, [], self.config.start_date
        if config.sdk_break is not None:
            brk = config.sdk_break
            for day in range(brk.start_day, config.days):
                rows.append(
                    {
                        "plant": "sdk_break",
                        "event_name": brk.event_name,
                        "platform": brk.platform,
                        "affected_date": start + dt.timedelta(days=day),
                        "affected_events": self.dropped_per_day.get(day, 0),
                        "last_received_at": None,
                        "is_backfilled_within_48h": None,
                    }
                )
        if config.outage is not None:
            outage = config.outage
            for day in range(outage.start_day, outage.start_day + outage.days):
                count, last = self.backlog_per_day.get(day, (0, None))
                rows.append(
                    {
                        "plant": "outage",
                        "event_name": None,
                        "platform": None,
                        "affected_date": start + dt.timedelta(days=day),
                        "affected_events": count,
                        "last_received_at": (
                            (dt.datetime.combine(start, dt.time()) + dt.timedelta(seconds=last)).isoformat()
                            if last is not None
                            else None
                        ),
                        "is_backfilled_within_48h": last is not None and last <= (day + 1) * DAY + 48 * HOUR,
                    }
                )
        return pd.DataFrame(rows, columns=TRUTH_COLUMNS)


def apply_instrumentation_breaks(
    events: list[Event], config: GeneratorConfig
) -> tuple[list[Event], pd.DataFrame | None]:
    """Return the deliveries with the configured breaks applied and their truth (None when
    no break is configured)."""
    breaks = InstrumentationBreaks(config)
    return breaks.apply(events), breaks.truth()
