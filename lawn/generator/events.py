"""The raw event envelope and the log the simulation appends events to."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field

from lawn.generator.world import Account, Device, Person

# UTC offsets (hours) of each country's clients; client clocks report local time with offset.
UTC_OFFSETS = {"US": -5, "GB": 0, "DE": 1, "FR": 1, "NL": 1, "ES": 1, "CA": -5, "AU": 10, "BR": -3, "IN": 5.5}


@dataclass
class Event:
    """A clean event before dirt and serialisation; times are seconds since the start date."""

    event_id: str
    event_name: str
    schema_version: int
    source: str
    occurred_s: float
    received_s: float
    utc_offset_h: float
    anonymous_id: str | None
    device_id: str | None
    user_id: str | None
    account_id: str | None
    context: dict
    properties: dict
    # filled in by the dirt step: a raw payload that overrides the clean one
    raw_overrides: dict = field(default_factory=dict)


def stable_hash(*parts: object) -> str:
    """A deterministic hex digest of ``parts`` (independent of the random stream)."""
    return hashlib.md5(":".join(str(part) for part in parts).encode()).hexdigest()


def unit_uniform(*parts: object) -> float:
    """A deterministic number in [0, 1) from ``parts``: used for experiment assignment."""
    return int(stable_hash(*parts)[:12], 16) / 16**12


class EventLog:
    """Collects events; hands out deterministic event ids."""

    def __init__(self, seed: int, start_date: dt.date) -> None:
        self.seed = seed
        self.start = dt.datetime.combine(start_date, dt.time(), tzinfo=dt.UTC)
        self._naive_start = dt.datetime.combine(start_date, dt.time())
        self._zones: dict[float, dt.timezone] = {}  # the client clocks' time zones, made once
        self.events: list[Event] = []
        # events appended so far, including those handed off by ``drain``: ids and delays hang on it
        self.emitted = 0

    def drain(self) -> list[Event]:
        """Hand off the events appended since the last drain (the streaming generator's batches);
        ids keep counting, so the output is the same as when every event stays in memory."""
        events, self.events = self.events, []
        return events

    def _next_id(self) -> str:
        digest = stable_hash(self.seed, self.emitted)
        return f"{digest[:8]}-{digest[8:12]}-4{digest[13:16]}-a{digest[17:20]}-{digest[20:32]}"

    def client(
        self,
        name: str,
        t: float,
        account: Account,
        person: Person | None,
        device: Device,
        properties: dict,
        version: int = 1,
        user_id: str | None = None,
        latency_ms: float = 0.0,
        error_code: str | None = None,
    ) -> Event:
        """An event sent by a browser or an app: carries its anonymous and device ids."""
        context = {
            "platform": device.platform,
            "app_version": device.app_version,
            "locale": account.locale,
            "latency_ms": round(latency_ms, 1),
            "error_code": error_code,
            "ip": f"198.51.{int(device.device_id[-5:]) % 250}.{int(device.device_id[-3:]) % 250 + 1}",
        }
        uid = user_id if user_id is not None else (person.user_id if person else None)
        return self._append(
            name,
            version,
            device.platform,
            t,
            UTC_OFFSETS[account.country],
            device.anonymous_id,
            device.device_id,
            uid,
            account.account_id if uid else None,
            context,
            properties,
        )

    def server(
        self, name: str, t: float, account: Account, user_id: str | None, properties: dict, version: int = 1
    ) -> Event:
        """An event sent by one of our backend services (server clock, no device)."""
        context = {
            "platform": "server",
            "app_version": "billing-4.2",
            "locale": account.locale,
            "latency_ms": None,
            "error_code": None,
            "ip": None,
        }
        return self._append(
            name, version, "backend", t, 0, None, None, user_id, account.account_id, context, properties
        )

    def anonymous(
        self, name: str, t: float, device: Device, locale: str, utc_offset: float, properties: dict
    ) -> Event:
        """A page view by a visitor we know nothing about yet."""
        context = {
            "platform": "web",
            "app_version": device.app_version,
            "locale": locale,
            "latency_ms": None,
            "error_code": None,
            "ip": None,
        }
        return self._append(
            name,
            1,
            "web",
            t,
            utc_offset,
            device.anonymous_id,
            device.device_id,
            None,
            None,
            context,
            properties,
        )

    def _append(
        self,
        name: str,
        version: int,
        source: str,
        t: float,
        offset: float,
        anonymous_id: str | None,
        device_id: str | None,
        user_id: str | None,
        account_id: str | None,
        context: dict,
        properties: dict,
    ) -> Event:
        # delivery delay: mostly sub-second, mobile clients batch for up to a few minutes
        delay = 0.4 + (
            int(stable_hash(self.seed, "d", self.emitted)[:4], 16) % 300
            if source in ("ios", "android")
            else 0.2
        )
        event = Event(
            self._next_id(),
            name,
            version,
            source,
            t,
            t + delay,
            offset,
            anonymous_id,
            device_id,
            user_id,
            account_id,
            context,
            properties,
        )
        self.events.append(event)
        self.emitted += 1
        return event

    def iso_occurred(self, event: Event) -> str:
        """Client clock: local time with its UTC offset, ISO 8601."""
        tz = self._zones.get(event.utc_offset_h)
        if tz is None:
            tz = self._zones[event.utc_offset_h] = dt.timezone(dt.timedelta(hours=event.utc_offset_h))
        moment = (self.start + dt.timedelta(seconds=event.occurred_s)).astimezone(tz)
        return moment.isoformat(timespec="milliseconds")

    def iso_received(self, event: Event) -> str:
        """Server clock: UTC, ISO 8601 with a Z (milliseconds cut, not rounded)."""
        # isoformat is what strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] gives for years 1000 to 9999,
        # about twice as fast
        moment = self._naive_start + dt.timedelta(seconds=event.received_s)
        return moment.isoformat(timespec="milliseconds") + "Z"
