"""An account's subscription over time: trial, conversion, expansion, contraction, churn, return.

Every MRR change is written to the planted-truth ledger as it is emitted, so the marts can
later be checked against what really happened.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np

from lawn.generator.events import EventLog
from lawn.generator.programs import Experiment
from lawn.generator.world import Account

PRICE_PER_SEAT = {"starter": 15.0, "growth": 35.0, "enterprise": 70.0}
PLAN_ORDER = ("starter", "growth", "enterprise")
TRIAL_DAYS = 14
DAY = 86400.0


@dataclass
class Subscription:
    status: str = "prospect"  # prospect, trial, paying, churned, expired
    plan: str = "none"
    seats: int = 0
    mrr_usd: float = 0.0
    billing_period: str = "monthly"
    trial_end_day: int = -1
    next_cycle_day: int = -1
    invoice_seq: int = 0
    # with a planted churn warning: the next renewal is already known to be a cancellation
    cancels_at_next_cycle: bool = False
    ledger: list[dict] = field(default_factory=list)


def _first_plan(account: Account, rng: np.random.Generator) -> str:
    if account.segment == "smb":
        return "starter" if rng.random() < 0.8 else "growth"
    if account.segment == "mid_market":
        return "growth" if rng.random() < 0.85 else "starter"
    return "enterprise" if rng.random() < 0.7 else "growth"


class CommercialSim:
    """Runs the subscription of one account, one day at a time."""

    def __init__(
        self,
        account: Account,
        log: EventLog,
        rng: np.random.Generator,
        account_experiment: Experiment,
        decide_churn_ahead: bool = False,
    ) -> None:
        self.decide_churn_ahead = decide_churn_ahead
        self.account = account
        self.log = log
        self.rng = rng
        self.experiment = account_experiment
        self.sub = Subscription()
        self.founder_uid = account.people[0].user_id
        # planted action effects (lawn/generator/action_effects.py): the factor the offer
        # applies to the churn probability at the next renewal; exactly 1.0 when off
        self.next_churn_multiplier = 1.0
        self.exposure: dict | None = None

    def _t(self, day: int, hour: float) -> float:
        return day * DAY + hour * 3600 + float(self.rng.uniform(0, 3600))

    def _record(self, day: int, movement: str, before: float) -> None:
        self.sub.ledger.append(
            {
                "account_id": self.account.account_id,
                "day": day,
                "movement": movement,
                "mrr_before_usd": before,
                "mrr_after_usd": self.sub.mrr_usd,
                "plan": self.sub.plan,
                "seats": self.sub.seats,
            }
        )

    def _plan_changed(self, day: int, from_plan: str, reason: str) -> None:
        props = {"from_plan": from_plan, "to_plan": self.sub.plan, "mrr_usd": round(self.sub.mrr_usd, 2)}
        version = 1 if self.rng.random() < 0.35 else 2  # the legacy billing service still sends v1
        if version == 2:
            props.update(seats=self.sub.seats, billing_period=self.sub.billing_period, change_reason=reason)
        self.log.server("plan_changed", self._t(day, 9), self.account, self.founder_uid, props, version)

    def start_trial(self, day: int) -> None:
        self.sub.status = "trial"
        self.sub.plan = "trial"
        self.sub.trial_end_day = day + TRIAL_DAYS
        intent = _first_plan(self.account, self.rng)
        self.log.server(
            "trial_started",
            self._t(day, 10),
            self.account,
            self.founder_uid,
            {"plan": intent, "trial_days": TRIAL_DAYS},
        )

    def conversion_probability(self, activated: bool) -> float:
        """Base rate from account health and activation, plus the experiment's true effect."""
        p = 0.2 + 0.35 * self.account.health + (0.15 if activated else 0.0)
        if self.experiment.variant(self.account.account_id) == "treatment" and self.experiment.is_running(
            self.account.created_day
        ):
            p += self.experiment.true_effect
        return p

    def end_trial(self, day: int, activated: bool, seats: int) -> bool:
        plan = _first_plan(self.account, self.rng)
        converted = self.rng.random() < self.conversion_probability(activated)
        self.log.server(
            "trial_ended",
            self._t(day, 8),
            self.account,
            self.founder_uid,
            {"plan": plan, "outcome": "converted" if converted else "expired"},
        )
        if not converted:
            self.sub.status, self.sub.plan = "expired", "none"
            return False
        self._start_paying(day, plan, seats, from_plan="trial", reason="new", movement="new")
        return True

    def _start_paying(
        self, day: int, plan: str, seats: int, from_plan: str, reason: str, movement: str
    ) -> None:
        before = self.sub.mrr_usd
        self.sub.status, self.sub.plan = "paying", plan
        self.sub.seats = max(seats, 10 if plan == "enterprise" else 1)
        self.sub.billing_period = "annual" if self.rng.random() < 0.15 else "monthly"
        self.sub.mrr_usd = self.sub.seats * PRICE_PER_SEAT[plan]
        self.sub.next_cycle_day = day + 30
        if self.decide_churn_ahead:
            self.sub.cancels_at_next_cycle = self.rng.random() < self.churn_probability()
        self._plan_changed(day, from_plan, reason)
        self._record(day, movement, before)
        self._invoice(day)

    def churn_probability(self) -> float:
        """This account's chance of cancelling at a renewal (before any planted offer)."""
        return 0.07 * (1.3 - self.account.health)

    def _invoice(self, day: int) -> None:
        self.sub.invoice_seq += 1
        months = 12 if self.sub.billing_period == "annual" and self.sub.invoice_seq % 12 == 1 else 1
        if self.sub.billing_period == "annual" and months == 1:
            return  # annual plans are invoiced once a year
        props = {
            "invoice_id": f"inv_{self.account.account_id[4:]}_{self.sub.invoice_seq:03d}",
            "amount_usd": round(self.sub.mrr_usd * months, 2),
            "currency": "USD",
            "period_start": (self.log.start + dt.timedelta(days=day)).date().isoformat(),
        }
        self.log.server("invoice_paid", self._t(day, 6), self.account, self.founder_uid, props)

    def monthly_cycle(self, day: int, active_people: int) -> None:
        """At each 30-day boundary: churn, expand, contract or just renew."""
        self.sub.next_cycle_day = day + 30
        if self.sub.status == "churned":
            if self.rng.random() < 0.12:
                plan = _first_plan(self.account, self.rng)
                self._start_paying(
                    day, plan, max(1, active_people // 2), "none", "reactivation", "reactivation"
                )
            return
        if self.sub.status != "paying":
            return
        roll = self.rng.random()
        churn_p = self.churn_probability() * self.next_churn_multiplier
        self.next_churn_multiplier = 1.0
        exposure, self.exposure = self.exposure, None
        if self.decide_churn_ahead:
            # decided a cycle ago; decide the next one now (the roll still splits the rest)
            churns = self.sub.cancels_at_next_cycle
            self.sub.cancels_at_next_cycle = self.rng.random() < churn_p
            if churns:
                self._churn(day)
                if exposure is not None:
                    exposure["churned"] = True
                return
        elif roll < churn_p:
            self._churn(day)
            if exposure is not None:
                exposure["churned"] = True
            return
        if exposure is not None:
            exposure["churned"] = False
        before, old_plan = self.sub.mrr_usd, self.sub.plan
        if roll < churn_p + 0.10:
            if self.sub.plan != "enterprise" and self.rng.random() < 0.3:
                self.sub.plan = PLAN_ORDER[PLAN_ORDER.index(self.sub.plan) + 1]
            else:
                self.sub.seats += int(self.rng.integers(1, 4))
            movement, reason = "expansion", "upgrade"
        elif roll < churn_p + 0.14 and self.sub.seats > 1:
            self.sub.seats -= 1
            movement, reason = "contraction", "downgrade"
        else:
            self._invoice(day)
            return
        self.sub.mrr_usd = self.sub.seats * PRICE_PER_SEAT[self.sub.plan]
        if self.sub.mrr_usd == before:
            movement = "none"
        self._plan_changed(day, old_plan, reason if old_plan != self.sub.plan else "seat_change")
        if movement != "none":
            self._record(day, movement, before)
        self._invoice(day)

    def _churn(self, day: int) -> None:
        before, plan = self.sub.mrr_usd, self.sub.plan
        reason = str(
            self.rng.choice(
                ["too_expensive", "missing_features", "switched_competitor", "no_longer_needed", "other"]
            )
        )
        self.log.server(
            "subscription_canceled",
            self._t(day, 15),
            self.account,
            self.founder_uid,
            {"plan": plan, "mrr_usd": round(before, 2), "cancel_reason": reason},
        )
        self.sub.status, self.sub.plan, self.sub.mrr_usd, self.sub.seats = "churned", "none", 0.0, 0
        self._plan_changed(day, plan, "downgrade")
        self._record(day, "churn", before)
