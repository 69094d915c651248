"""Settings of one generator run: size, seed, dates and the rates of planted dirt."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, fields


@dataclass(frozen=True)
class DirtRates:
    """Share of clean events that receive each kind of dirt (0 turns a kind off).

    The kinds that make an event invalid map one-to-one to a quarantine reason code
    (see ``EXPECTED_REASON``); the others are dirt a valid pipeline must absorb.
    """

    duplicate: float = 0.01
    malformed_json: float = 0.002
    unknown_event_name: float = 0.002
    missing_required_property: float = 0.002
    wrong_type: float = 0.002
    out_of_range: float = 0.002
    future_timestamp: float = 0.001
    ancient_timestamp: float = 0.001
    no_identifier: float = 0.001
    late_arrival: float = 0.01
    email_case_whitespace: float = 0.15
    shared_device_people: float = 0.03
    resignup_typo: float = 0.04

    def scaled(self, factor: float) -> DirtRates:
        """All rates multiplied by ``factor`` (capped at 1)."""
        return DirtRates(**{f.name: min(1.0, getattr(self, f.name) * factor) for f in fields(self)})

    def with_overrides(self, overrides: dict[str, float]) -> DirtRates:
        """A copy with some rates replaced; unknown names raise ``ValueError``."""
        known = {f.name for f in fields(self)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise ValueError(f"unknown dirt kind(s) {unknown}; known kinds: {sorted(known)}")
        bad = {name: rate for name, rate in overrides.items() if not 0.0 <= rate <= 1.0}
        if bad:
            raise ValueError(f"dirt rates must lie in [0, 1]: {bad}")
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values.update(overrides)
        return DirtRates(**values)


# Dirt kinds that invalidate an event, and the reason code the quarantine must give.
EXPECTED_REASON: dict[str, str] = {
    "malformed_json": "MALFORMED_PROPERTIES_JSON",
    "unknown_event_name": "UNKNOWN_EVENT",
    "missing_required_property": "MISSING_REQUIRED_PROPERTY",
    "wrong_type": "WRONG_TYPE",
    "out_of_range": "OUT_OF_RANGE",
    "future_timestamp": "OCCURRED_IN_FUTURE",
    "ancient_timestamp": "OCCURRED_TOO_LONG_AGO",
    "no_identifier": "NO_IDENTIFIER",
}


@dataclass(frozen=True)
class PlantedBreach:
    """An incident to plant: from ``start_day`` on, users who sign up on ``platform`` activate
    (create an invoice in their first week) ``activation_factor`` times as often as before."""

    platform: str
    start_day: int
    activation_factor: float = 0.0

    def __post_init__(self) -> None:
        if self.platform not in ("web", "ios", "android"):
            raise ValueError(f"breach platform must be web, ios or android, got {self.platform!r}")
        if self.start_day < 0:
            raise ValueError(f"breach start day must be >= 0, got {self.start_day}")
        if not 0.0 <= self.activation_factor <= 1.0:
            raise ValueError(f"breach activation factor must lie in [0, 1], got {self.activation_factor}")

    def applies(self, platform: str, day: int) -> bool:
        return platform == self.platform and day >= self.start_day


@dataclass(frozen=True)
class PlantedChurnWarning:
    """Churn with a leading indicator: whether an account cancels at its next monthly renewal
    is decided a cycle ahead, and in the ``days`` before a renewal it will cancel at, its
    people are active ``activity_factor`` times as often (disengagement before churn, which a
    churn model should find). Off by default: without it churn depends on a latent health
    score only and behaviour barely predicts it."""

    days: int = 21
    activity_factor: float = 0.3

    def __post_init__(self) -> None:
        if not 1 <= self.days <= 30:
            raise ValueError(f"churn warning days must lie in [1, 30], got {self.days}")
        if not 0.0 <= self.activity_factor <= 1.0:
            raise ValueError(f"churn warning activity factor must lie in [0, 1], got {self.activity_factor}")


@dataclass(frozen=True)
class PlantedSdkBreak:
    """An SDK release that stops sending ``event_name`` from ``platform`` (a client source:
    web, ios or android) from ``start_day`` on: those events are never delivered."""

    platform: str
    event_name: str
    start_day: int

    def __post_init__(self) -> None:
        if self.platform not in ("web", "ios", "android"):
            raise ValueError(f"SDK break platform must be web, ios or android, got {self.platform!r}")
        if not self.event_name:
            raise ValueError("SDK break event name must not be empty")
        if self.start_day < 0:
            raise ValueError(f"SDK break start day must be >= 0, got {self.start_day}")

    def applies(self, source: str, event_name: str, occurred_s: float, day_seconds: float) -> bool:
        return (
            source == self.platform
            and event_name == self.event_name
            and occurred_s >= self.start_day * day_seconds
        )


@dataclass(frozen=True)
class PlantedOutage:
    """A collector outage: nothing is received from ``start_day`` 00:00 UTC for ``days`` days;
    every delivery that would have arrived then is held by the clients and arrives
    ``backfill_hours`` (plus up to an hour of jitter) after the outage ends."""

    start_day: int
    days: int = 2
    backfill_hours: float = 6.0

    def __post_init__(self) -> None:
        if self.start_day < 0:
            raise ValueError(f"outage start day must be >= 0, got {self.start_day}")
        if not 1 <= self.days <= 14:
            raise ValueError(f"outage days must lie in [1, 14], got {self.days}")
        if not 0.0 <= self.backfill_hours <= 24 * 14:
            raise ValueError(f"outage backfill hours must lie in [0, 336], got {self.backfill_hours}")


@dataclass(frozen=True)
class PlantedActionEffects:
    """A randomised retention offer with planted heterogeneous effects (simulation days); see
    lawn/generator/action_effects.py for the effects and the truth it writes."""

    start_day: int = 28
    end_day: int | None = None  # default: 31 days before the end, so outcomes are observed
    treatment_share: float = 0.5
    lead_days: int = 7
    # renewals inside the period carry a price rise: the usual churn probability times this
    price_rise_churn_factor: float = 5.0

    def __post_init__(self) -> None:
        if self.start_day < 0:
            raise ValueError(f"action effects start day must be >= 0, got {self.start_day}")
        if self.end_day is not None and self.end_day < self.start_day:
            raise ValueError(f"action effects end day {self.end_day} is before start day {self.start_day}")
        if not 0.0 < self.treatment_share < 1.0:
            raise ValueError(f"action effects treatment share must lie in (0, 1), got {self.treatment_share}")
        if not 1 <= self.lead_days <= 29:
            raise ValueError(f"action effects lead days must lie in [1, 29], got {self.lead_days}")
        if not 1.0 <= self.price_rise_churn_factor <= 10.0:
            factor = self.price_rise_churn_factor
            raise ValueError(f"action effects price rise churn factor must lie in [1, 10], got {factor}")

    def last_day(self, days: int) -> int:
        return self.end_day if self.end_day is not None else days - 31


@dataclass(frozen=True)
class GeneratorConfig:
    """What to generate: ``accounts`` companies observed for ``days`` days from ``start_date``."""

    seed: int = 42
    accounts: int = 50
    days: int = 150
    start_date: dt.date = dt.date(2026, 3, 2)
    dirt: DirtRates = field(default_factory=DirtRates)
    # an activation incident on one platform (off by default)
    breach: PlantedBreach | None = None
    # a sample-ratio mismatch: this share of the user experiment's treatment exposures is lost
    # (a logging bug in the treatment code path); 0 = none
    srm_lost_treatment_share: float = 0.0
    # churn decided a cycle ahead and announced by falling activity (off by default)
    churn_warning: PlantedChurnWarning | None = None
    # instrumentation breaks (off by default): an SDK release that stops sending an event on
    # one platform, and a collector outage whose backlog is backfilled later
    sdk_break: PlantedSdkBreak | None = None
    outage: PlantedOutage | None = None
    # a randomised retention offer with heterogeneous planted effects (off by default)
    action_effects: PlantedActionEffects | None = None

    def __post_init__(self) -> None:
        if self.accounts < 1:
            raise ValueError(f"accounts must be at least 1, got {self.accounts}")
        if not 0.0 <= self.srm_lost_treatment_share < 1.0:
            raise ValueError(
                f"srm_lost_treatment_share must lie in [0, 1), got {self.srm_lost_treatment_share}"
            )
        if self.days < 28:
            raise ValueError(f"days must be at least 28 (four weeks), got {self.days}")
        if self.action_effects is not None and self.churn_warning is not None:
            raise ValueError("action effects and the churn warning both decide renewals: plant one of them")
        if self.action_effects is not None and self.action_effects.start_day >= self.days:
            raise ValueError(
                f"action effects start day {self.action_effects.start_day} is not within the days"
            )
        for name, plant in (("SDK break", self.sdk_break), ("outage", self.outage)):
            if plant is not None and plant.start_day >= self.days:
                raise ValueError(f"{name} start day {plant.start_day} is not within the {self.days} days")

    @property
    def end_date(self) -> dt.date:
        return self.start_date + dt.timedelta(days=self.days - 1)
