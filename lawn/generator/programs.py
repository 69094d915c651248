"""Experiments and the staggered rollout the generator runs, with their planted true effects."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from lawn.generator.config import GeneratorConfig
from lawn.generator.events import unit_uniform
from lawn.generator.world import Account


@dataclass(frozen=True)
class Experiment:
    experiment_id: str
    hypothesis: str
    unit: str  # user or account
    primary_metric: str
    guardrail_metrics: str
    true_effect: float  # absolute lift of the primary metric's probability
    mde: float
    alpha: float
    power: float
    holdout_share: float
    start_day: int
    end_day: int
    owner: str

    def variant(self, unit_id: str) -> str:
        """Deterministic assignment: hash of (experiment, unit) -> holdout / control / treatment."""
        u = unit_uniform(self.experiment_id, unit_id)
        if u < self.holdout_share:
            return "holdout"
        return "control" if u < self.holdout_share + (1 - self.holdout_share) / 2 else "treatment"

    def is_running(self, day: int) -> bool:
        return self.start_day <= day <= self.end_day


def build_experiments(config: GeneratorConfig) -> list[Experiment]:
    """One user-level and one account-level experiment, each with a 10% holdout."""
    last = config.days - 1
    return [
        Experiment(
            experiment_id="exp_onboarding_checklist",
            hypothesis="A guided checklist raises the share of new users who create an invoice in week one.",
            unit="user",
            primary_metric="activated_7d",
            guardrail_metrics="support_tickets_per_user|error_rate",
            true_effect=0.10,
            mde=0.05,
            alpha=0.05,
            power=0.8,
            holdout_share=0.1,
            start_day=7,
            end_day=max(8, last - 21),
            owner="growth",
        ),
        Experiment(
            experiment_id="exp_annual_plan_nudge",
            hypothesis="Showing the annual-plan saving at trial end raises trial-to-paid conversion.",
            unit="account",
            primary_metric="trial_converted",
            guardrail_metrics="mrr_per_account|support_tickets_per_account",
            true_effect=0.12,
            mde=0.08,
            alpha=0.05,
            power=0.8,
            holdout_share=0.1,
            start_day=0,
            end_day=max(1, last - 30),
            owner="revenue",
        ),
    ]


def planned_sample_size(experiment: Experiment, baseline: float) -> int:
    """Units per arm for a two-proportion z-test (normal approximation)."""
    from statistics import NormalDist

    z_alpha = NormalDist().inv_cdf(1 - experiment.alpha / 2)
    z_beta = NormalDist().inv_cdf(experiment.power)
    p1, p2 = baseline, baseline + experiment.mde
    variance = p1 * (1 - p1) + p2 * (1 - p2)
    return int(np.ceil((z_alpha + z_beta) ** 2 * variance / experiment.mde**2))


@dataclass(frozen=True)
class RolloutAdoption:
    account_id: str
    adoption_day: int
    cohort: int
    true_lift: float  # multiplicative lift of create_invoice usage after adoption


ROLLOUT_FEATURE = "smart_reminders"
ROLLOUT_LIFT_BY_COHORT = (0.30, 0.18, 0.08)
ROLLOUT_SHARE_BY_SEGMENT = {"smb": 0.2, "mid_market": 0.4, "enterprise": 0.6}


def build_rollout(
    config: GeneratorConfig, accounts: list[Account], rng: np.random.Generator
) -> dict[str, RolloutAdoption]:
    """Non-randomised: bigger accounts are likelier to get the feature, in three waves."""
    wave_days = [int(config.days * share) for share in (0.35, 0.5, 0.65)]
    adoptions: dict[str, RolloutAdoption] = {}
    for account in accounts:
        if rng.random() >= ROLLOUT_SHARE_BY_SEGMENT[account.segment]:
            continue
        cohort = int(rng.integers(0, 3))
        day = wave_days[cohort]
        if account.created_day > day - 14:
            continue  # needs a pre-period
        adoptions[account.account_id] = RolloutAdoption(
            account.account_id, day, cohort + 1, ROLLOUT_LIFT_BY_COHORT[cohort]
        )
    return adoptions


def day_to_date(config: GeneratorConfig, day: int) -> dt.date:
    return config.start_date + dt.timedelta(days=day)
