"""Planted causal effects of the retention offer, with a randomised period to learn them.

Off by default. When on (``GeneratorConfig.action_effects``), every paying account whose
renewal falls inside the randomised period is exposed to experiment ``exp_retention_offer``
``lead_days`` before its renewal; the variant is fixed per account by a keyed hash
(``treatment_share`` get the offer).

The story: renewals inside the period carry a price rise, which multiplies every account's
usual chance of cancelling at that renewal by ``price_rise_churn_factor`` (the baseline); the
offer (keep the old price) then changes that baseline by a factor that depends on who the
account is. Who responds depends on observable behaviour - segment, team size and recent
engagement - and is deliberately not the same as churn risk (which falls with the account's
health, independently of segment and team size):

- ``sleeping_dog``: enterprise accounts, who read a discount offer as a warning sign: their
  churn probability rises by 60%;
- ``lost_cause``: disengaged accounts (health below ``DISENGAGED_HEALTH``: they have mostly
  stopped using the product, which their usage shows) in the other segments; no effect. These
  are the riskiest accounts, so targeting by risk spends many offers on them;
- ``persuadable``: engaged small-business accounts with at most two active people (price
  sensitive, still using the product); the offer cuts their churn probability to 20%;
- ``mild``: every other engaged account (mid-market, larger small-business teams); to 75%.

The truth file ``action_effects`` has one row per exposure: the account, the renewal it is
about, the variant, segment, active people and health, the response type, the baseline and
treated churn probabilities and the true uplift (baseline minus treated: the churn
probability the offer removes; negative when it does harm), the factor applied to the
account's usual churn probability at that renewal, and whether the account churned then.

Nothing here draws from the shared random stream when the option is off, and the churn
multiplier is exactly 1.0 then, so every other output stays byte-identical.
"""

from __future__ import annotations

import datetime as dt
import math
from statistics import NormalDist

from lawn.generator.config import PlantedActionEffects
from lawn.generator.events import unit_uniform

RESPONSE_MULTIPLIER = {"persuadable": 0.2, "mild": 0.75, "lost_cause": 1.0, "sleeping_dog": 1.6}
# below this health an account has mostly stopped using the product (about 13% of accounts)
DISENGAGED_HEALTH = 0.45
EXPERIMENT_ID = "exp_retention_offer"
ACTION_EFFECT_TRUTH_COLUMNS = [
    "account_id", "experiment_id", "exposure_date", "renewal_date", "variant", "segment", "active_people",
    "account_health", "response_type", "baseline_churn_probability", "treated_churn_probability",
    "true_uplift", "applied_multiplier", "churned",
]  # fmt: skip


def variant(plant: PlantedActionEffects, account_id: str) -> str:
    """The account's arm, fixed by a keyed hash (the same on every run and every day)."""
    return "treatment" if unit_uniform(EXPERIMENT_ID, account_id) < plant.treatment_share else "control"


def response_type(segment: str, active_people: int, health: float) -> str:
    """Who the account is, for the offer (see the module docstring)."""
    if segment == "enterprise":
        return "sleeping_dog"
    if health < DISENGAGED_HEALTH:
        return "lost_cause"
    if segment == "smb" and active_people <= 2:
        return "persuadable"
    return "mild"


def exposure_record(
    plant: PlantedActionEffects,
    account_id: str,
    segment: str,
    active_people: int,
    health: float,
    exposure_day: int,
    renewal_day: int,
    usual_churn_probability: float,
) -> dict:
    """The truth row of one exposure; ``churned`` is filled in at the renewal.

    ``applied_multiplier`` is the factor on the account's usual churn probability at this
    renewal: the price rise, times the offer's effect in the treatment arm."""
    kind = response_type(segment, active_people, health)
    arm = variant(plant, account_id)
    baseline = min(1.0, usual_churn_probability * plant.price_rise_churn_factor)
    treated = min(1.0, baseline * RESPONSE_MULTIPLIER[kind])
    in_force = treated if arm == "treatment" else baseline
    return {
        "account_id": account_id,
        "experiment_id": EXPERIMENT_ID,
        "exposure_day": exposure_day,
        "renewal_day": renewal_day,
        "variant": arm,
        "segment": segment,
        "active_people": active_people,
        "account_health": health,
        "response_type": kind,
        "baseline_churn_probability": baseline,
        "treated_churn_probability": treated,
        "true_uplift": baseline - treated,
        "applied_multiplier": in_force / usual_churn_probability,
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
