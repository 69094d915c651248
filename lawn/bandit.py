"""Thompson sampling for creative and sequencing decisions (Bernoulli rewards).

A bandit is registered like an experiment (``BanditSpec``: arms, reward window, Beta priors,
an exploration floor and a holdout that stays uniform). Each night:

1. ``credited_counts`` credits an arm with an assignment only once its reward window has
   closed (delayed rewards: an assignment made three days ago with a seven-day window says
   nothing yet, it is neither a success nor a failure);
2. ``posteriors`` turns the credited counts into Beta(alpha, beta) per arm (and per context,
   e.g. per segment, for the contextual variant);
3. ``allocate`` computes each arm's probability of being best by Monte Carlo from those
   posteriors with a seed derived from (bandit, day), lifts every arm to the exploration
   floor, and returns an ``Allocation`` that records its inputs, so the same data gives the
   same allocation and ``verify_allocation`` can recompute any night's shares;
4. ``assign_units`` places units deterministically (keyed on bandit, day and unit): a
   ``holdout_share`` of units is allocated uniformly, the rest by the bandit's shares, and
   every row carries its propensity (the marginal probability of the arm it got), which
   ``ipw_means`` needs: means computed naively from adaptively allocated data are biased.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd


class BanditError(ValueError):
    """A bandit's configuration or logs are not usable (one line, names the field)."""


@dataclass(frozen=True)
class BanditSpec:
    """One registered bandit: which arms, which reward, and how much it may explore."""

    bandit_id: str
    arms: tuple[str, ...]
    reward_window_days: int = 7
    prior_alpha: float = 1.0
    prior_beta: float = 1.0
    exploration_floor: float = 0.05
    holdout_share: float = 0.10
    draws: int = 20_000

    def __post_init__(self) -> None:
        if len(self.arms) < 2 or len(set(self.arms)) != len(self.arms):
            raise BanditError(f"bandit {self.bandit_id}: needs at least two distinct arms, got {self.arms}")
        if self.prior_alpha <= 0 or self.prior_beta <= 0:
            raise BanditError(f"bandit {self.bandit_id}: prior_alpha and prior_beta must be > 0")
        if not 0 <= self.exploration_floor * len(self.arms) <= 1:
            raise BanditError(
                f"bandit {self.bandit_id}: exploration_floor x arms must be within [0, 1], "
                f"got {self.exploration_floor} x {len(self.arms)}"
            )
        if not 0 <= self.holdout_share < 1:
            raise BanditError(f"bandit {self.bandit_id}: holdout_share must be within [0, 1)")
        if self.reward_window_days < 0 or self.draws < 100:
            raise BanditError(f"bandit {self.bandit_id}: reward_window_days >= 0 and draws >= 100 required")


@dataclass(frozen=True)
class Allocation:
    """One night's shares for one context, with everything needed to recompute them."""

    bandit_id: str
    decision_day: dt.date
    context: str
    arms: tuple[str, ...]
    alpha: tuple[float, ...]
    beta: tuple[float, ...]
    prob_best: tuple[float, ...]
    shares: tuple[float, ...]
    seed: int
    draws: int
    floor: float = field(default=0.0)

    def records(self) -> list[dict]:
        """One row per arm, as the allocation ledger stores it."""
        return [
            {
                "bandit_id": self.bandit_id,
                "decision_day": self.decision_day,
                "context": self.context,
                "arm": arm,
                "posterior_alpha": a,
                "posterior_beta": b,
                "prob_best": p,
                "share": s,
                "seed": self.seed,
                "draws": self.draws,
                "exploration_floor": self.floor,
            }
            for arm, a, b, p, s in zip(
                self.arms, self.alpha, self.beta, self.prob_best, self.shares, strict=True
            )
        ]


def _stable_int(*parts: object) -> int:
    digest = hashlib.sha256(":".join(str(part) for part in parts).encode()).digest()
    return int.from_bytes(digest[:8], "big")


def _unit_uniform(*parts: object) -> float:
    """A uniform number in [0, 1) fixed by its key (same key, same number, on any machine)."""
    return _stable_int(*parts) / 2**64


def credited_counts(spec: BanditSpec, logs: pd.DataFrame, as_of: dt.date) -> pd.DataFrame:
    """Pulls and rewards per context and arm, counting only assignments whose reward window has
    closed by the end of ``as_of``. ``logs``: context, arm, assigned_on, rewarded_on (a reward
    counts when it happened within the window; later ones are failures, as a fixed-window
    readout would count them)."""
    needed = {"context", "arm", "assigned_on", "rewarded_on"}
    missing = needed - set(logs.columns)
    if missing:
        raise BanditError(f"bandit {spec.bandit_id}: logs lack columns {sorted(missing)}")
    unknown = set(logs["arm"]) - set(spec.arms)
    if unknown:
        raise BanditError(f"bandit {spec.bandit_id}: logs name unknown arms {sorted(unknown)}")
    assigned = pd.to_datetime(logs["assigned_on"])
    rewarded = pd.to_datetime(logs["rewarded_on"])
    window = pd.Timedelta(days=spec.reward_window_days)
    closed = assigned + window <= pd.Timestamp(as_of)
    success = rewarded.notna() & (rewarded >= assigned) & (rewarded <= assigned + window)
    frame = pd.DataFrame(
        {"context": logs["context"], "arm": logs["arm"], "pull": closed, "reward": closed & success}
    )
    return (
        frame.groupby(["context", "arm"], as_index=False)[["pull", "reward"]]
        .sum()
        .astype({"pull": "int64", "reward": "int64"})
    )


def posteriors(spec: BanditSpec, counts: pd.DataFrame, context: str) -> tuple[np.ndarray, np.ndarray]:
    """Beta posterior parameters per arm (in ``spec.arms`` order) for one context."""
    rows = counts[counts["context"] == context].set_index("arm")
    pulls = rows["pull"].reindex(spec.arms, fill_value=0).to_numpy(dtype=float)
    rewards = rows["reward"].reindex(spec.arms, fill_value=0).to_numpy(dtype=float)
    return spec.prior_alpha + rewards, spec.prior_beta + pulls - rewards


def prob_best(alpha: np.ndarray, beta: np.ndarray, seed: int, draws: int) -> np.ndarray:
    """P(arm has the highest rate) under independent Beta posteriors, by Monte Carlo."""
    rng = np.random.default_rng(seed)
    samples = rng.beta(alpha[:, None], beta[:, None], size=(len(alpha), draws))
    winners = np.argmax(samples, axis=0)
    return np.bincount(winners, minlength=len(alpha)) / draws


def with_floor(probabilities: np.ndarray, floor: float) -> np.ndarray:
    """Every arm keeps at least ``floor``; the rest is shared in proportion to ``probabilities``."""
    return floor + (1.0 - floor * len(probabilities)) * probabilities


def allocate(
    spec: BanditSpec, counts: pd.DataFrame, decision_day: dt.date, context: str = "all"
) -> Allocation:
    """The shares for ``decision_day``: Thompson's probability of being best, floored."""
    alpha, beta = posteriors(spec, counts, context)
    return allocation_from_posteriors(spec, alpha, beta, decision_day, context)


def allocation_from_posteriors(
    spec: BanditSpec, alpha: np.ndarray, beta: np.ndarray, decision_day: dt.date, context: str = "all"
) -> Allocation:
    """The floored probability-of-being-best shares for given Beta posteriors (seeded by day)."""
    seed = _stable_int(spec.bandit_id, decision_day.isoformat(), context) % 2**32
    best = prob_best(alpha, beta, seed, spec.draws)
    shares = with_floor(best, spec.exploration_floor)
    return Allocation(
        spec.bandit_id,
        decision_day,
        context,
        spec.arms,
        tuple(alpha.tolist()),
        tuple(beta.tolist()),
        tuple(best.tolist()),
        tuple(shares.tolist()),
        seed,
        spec.draws,
        spec.exploration_floor,
    )


def verify_allocation(record: Allocation) -> bool:
    """Recompute the shares from the recorded posterior parameters and seed."""
    best = prob_best(np.array(record.alpha), np.array(record.beta), record.seed, record.draws)
    return bool(np.allclose(with_floor(best, record.floor), record.shares, rtol=0, atol=1e-12))


def propensities(spec: BanditSpec, shares: Iterable[float]) -> np.ndarray:
    """Marginal probability of each arm for a unit: uniform in the holdout, the shares outside."""
    return spec.holdout_share / len(spec.arms) + (1 - spec.holdout_share) * np.asarray(list(shares))


def assign_units(
    spec: BanditSpec, allocations: Mapping[str, Allocation], units: pd.DataFrame
) -> pd.DataFrame:
    """Place each unit (columns unit_id, context) on an arm, deterministically.

    Returns unit_id, context, arm, is_holdout, propensity. A unit's draw is keyed on
    (bandit, day, unit), so re-running a night assigns every unit the same arm."""
    rows = []
    for unit_id, context in zip(units["unit_id"], units["context"], strict=True):
        allocation = allocations.get(context)
        if allocation is None:
            raise BanditError(f"bandit {spec.bandit_id}: no allocation for context {context!r}")
        day = allocation.decision_day.isoformat()
        holdout = _unit_uniform(spec.bandit_id, day, unit_id, "holdout") < spec.holdout_share
        draw = _unit_uniform(spec.bandit_id, day, unit_id, "arm")
        weights = np.full(len(spec.arms), 1 / len(spec.arms)) if holdout else np.asarray(allocation.shares)
        index = min(int(np.searchsorted(np.cumsum(weights), draw, side="right")), len(spec.arms) - 1)
        rows.append(
            {
                "unit_id": unit_id,
                "context": context,
                "arm": spec.arms[index],
                "is_holdout": holdout,
                "propensity": float(propensities(spec, allocation.shares)[index]),
            }
        )
    return pd.DataFrame(rows, columns=["unit_id", "context", "arm", "is_holdout", "propensity"])


def ipw_means(arms: tuple[str, ...], log: pd.DataFrame) -> pd.DataFrame:
    """Horvitz-Thompson estimate of each arm's reward rate from adaptively allocated data.

    ``log``: one row per unit with arm, propensity (of the arm it got, when it was assigned)
    and reward (0/1). For arm a: mean over all units of reward * 1[arm = a] / propensity,
    unbiased whatever the allocation was, as long as every propensity was > 0 (the floor and
    the holdout guarantee it). The standard error is that of a mean of independent terms."""
    if (log["propensity"] <= 0).any():
        raise BanditError("ipw_means: a propensity is 0; the arm could not have been chosen")
    n = len(log)
    result = []
    for arm in arms:
        terms = np.where(log["arm"] == arm, log["reward"] / log["propensity"], 0.0)
        result.append(
            {"arm": arm, "ipw_mean": terms.mean(), "ipw_se": terms.std(ddof=1) / np.sqrt(n), "units": n}
        )
    return pd.DataFrame(result)
