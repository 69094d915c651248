"""Planted causal effects of the retention offer, with a randomised period to learn them.

Off by default. When on (``GeneratorConfig.action_effects``), every paying account whose
renewal falls inside the randomised period is exposed to experiment ``exp_retention_offer``
``lead_days`` before its renewal; the variant is fixed per account by a keyed hash
(``treatment_share`` get the offer). The offer changes the probability that the account
cancels at that renewal by a factor that depends on who the account is (heterogeneous
effects, all observable in the marts through segment and active people):

- ``persuadable``: small-business accounts with at most two active people; the offer cuts
  their churn probability to a quarter;
- ``mild``: mid-market accounts; to 70%;
- ``lost_cause``: small-business accounts with more people; no effect;
- ``sleeping_dog``: enterprise accounts, who read a discount offer as a warning sign: their
  churn probability rises by 80%.

The truth file ``action_effects`` has one row per exposure: the account, the renewal it is
about, the variant, the response type, the baseline and treated churn probabilities and the
true uplift (baseline minus treated: the churn probability the offer removes; negative when
it does harm), and whether the account churned at that renewal.

Nothing here draws from the shared random stream when the option is off, and the churn
multiplier is exactly 1.0 then, so every other output stays byte-identical.
"""

from __future__ import annotations

import datetime as dt
import math
from statistics import NormalDist

from lawn.generator.config import PlantedActionEffects
from lawn.generator.events import unit_uniform

RESPONSE_MULTIPLIER = {"persuadable": 0.25, "mild": 0.7, "lost_cause": 1.0, "sleeping_dog": 1.8}
EXPERIMENT_ID = "exp_retention_offer"
ACTION_EFFECT_TRUTH_COLUMNS = [
    "account_id", "experiment_id", "exposure_date", "renewal_date", "variant", "segment", "active_people",
    "response_type", "baseline_churn_probability", "treated_churn_probability", "true_uplift",
    "applied_multiplier", "churned",
]  # fmt: skip


def variant(plant: PlantedActionEffects, account_id: str) -> str:
    """The account's arm, fixed by a keyed hash (the same on every run and every day)."""
    return "treatment" if unit_uniform(EXPERIMENT_ID, account_id) < plant.treatment_share else "control"


def response_type(segment: str, active_people: int) -> str:
    """Who the account is, for the offer (see the module docstring)."""
    if segment == "enterprise":
        return "sleeping_dog"
    if segment == "mid_market":
        return "mild"
    return "persuadable" if active_people <= 2 else "lost_cause"


def exposure_record(
    plant: PlantedActionEffects,
    account_id: str,
    segment: str,
    active_people: int,
    exposure_day: int,
    renewal_day: int,
    baseline_churn_probability: float,
) -> dict:
    """The truth row of one exposure; ``churned`` is filled in at the renewal."""
    kind = response_type(segment, active_people)
    arm = variant(plant, account_id)
    treated = min(1.0, baseline_churn_probability * RESPONSE_MULTIPLIER[kind])
    return {
        "account_id": account_id,
        "experiment_id": EXPERIMENT_ID,
        "exposure_day": exposure_day,
        "renewal_day": renewal_day,
        "variant": arm,
        "segment": segment,
        "active_people": active_people,
        "response_type": kind,
        "baseline_churn_probability": baseline_churn_probability,
        "treated_churn_probability": treated,
        "true_uplift": baseline_churn_probability - treated,
        "applied_multiplier": RESPONSE_MULTIPLIER[kind] if arm == "treatment" else 1.0,
        "churned": None,
    }


# the offer is registered like any experiment; its primary metric is the account's MRR 30 days
# after exposure (a churned account counts 0), sized for a $10 lift with a $40 standard deviation
REGISTERED_MDE_USD = 10.0
ASSUMED_SD_USD = 40.0


def registry_row(plant: PlantedActionEffects, days: int, start: dt.date) -> dict:
    """The experiment registry's row for the retention offer."""
    z = NormalDist().inv_cdf(0.975) + NormalDist().inv_cdf(0.8)
    per_arm = math.ceil(2 * (z * ASSUMED_SD_USD / REGISTERED_MDE_USD) ** 2)
    first = start + dt.timedelta(days=plant.start_day)
    return {
        "experiment_id": EXPERIMENT_ID,
        "hypothesis": "A retention offer a week before renewal keeps accounts paying.",
        "randomization_unit": "account",
        "primary_metric": "mrr_per_account",
        "guardrail_metrics": "support_tickets_per_account",
        "minimum_detectable_effect": REGISTERED_MDE_USD,
        "alpha": 0.05,
        "power": 0.8,
        "planned_sample_size_per_arm": per_arm,
        "start_date": first.isoformat(),
        "end_date": (start + dt.timedelta(days=plant.last_day(days))).isoformat(),
        "holdout_share": 0.0,
        "owner": "customer_success",
        "registered_at": (dt.datetime.combine(first, dt.time()) - dt.timedelta(days=3)).strftime(
            "%Y-%m-%dT%H:%M:%SZ"
        ),
    }
