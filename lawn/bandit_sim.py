"""Offline evaluation of the bandit: simulation against planted arm rates, and replay on
logged uniformly random allocations.

``simulate`` runs one policy for ``days`` nights on planted Bernoulli arm rates with delayed
rewards (a reward is only seen when its window closes), using the same allocation code as the
nightly (lawn/bandit.py): ``thompson`` (floored, with its uniform holdout), ``uniform``, and
``explore_then_commit`` (a fixed-horizon A/B test on the first ``explore_days``, then every
unit on the arm with the best observed rate). Regret is expected regret: for each unit, the
best arm's rate minus the rate of the arm it got.

``replay`` is the replay estimator of Li, Chu, Langford and Wang (WSDM 2011): walk through
logged events whose arms were chosen uniformly at random, let the policy choose for each, and
keep only the events where it chose the logged arm; the mean reward of the kept events
estimates the policy's value without bias, and the policy learns only from kept events.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from lawn.bandit import BanditError, BanditSpec, allocation_from_posteriors, propensities
from lawn.power import sample_size

POLICIES = ("thompson", "uniform", "explore_then_commit")
_EPOCH = dt.date(2026, 1, 1)


@dataclass(frozen=True)
class SimulationResult:
    """One simulated run: per-unit log, cumulative expected regret by night, the final pick."""

    policy: str
    log: pd.DataFrame  # day, arm (name), propensity, reward, is_holdout
    cumulative_regret: np.ndarray
    final_best_arm: int


def _thompson_shares(spec: BanditSpec, pulls: np.ndarray, rewards: np.ndarray, day: int) -> np.ndarray:
    alpha, beta = spec.prior_alpha + rewards, spec.prior_beta + pulls - rewards
    return np.asarray(
        allocation_from_posteriors(spec, alpha, beta, _EPOCH + dt.timedelta(days=int(day))).shares
    )


def _shares(
    policy: str, spec: BanditSpec, day: int, pulls: np.ndarray, rewards: np.ndarray, explore_days: int
):
    k = len(spec.arms)
    if policy == "uniform" or (policy == "explore_then_commit" and day < explore_days):
        return np.full(k, 1 / k), 0.0
    if policy == "explore_then_commit":
        rates = np.divide(rewards, pulls, out=np.zeros(k), where=pulls > 0)
        shares = np.zeros(k)
        shares[int(np.argmax(rates))] = 1.0
        return shares, 0.0
    return _thompson_shares(spec, pulls, rewards, day), spec.holdout_share


def simulate(
    policy: str,
    spec: BanditSpec,
    rates: np.ndarray,
    days: int,
    units_per_day: int,
    seed: int,
    explore_days: int | None = None,
) -> SimulationResult:
    """Run ``policy`` on planted ``rates``; rewards are revealed ``spec.reward_window_days`` later."""
    if policy not in POLICIES:
        raise BanditError(f"unknown policy {policy!r}; expected one of {', '.join(POLICIES)}")
    rates = np.asarray(rates, dtype=float)
    if len(rates) != len(spec.arms):
        raise BanditError(f"{len(rates)} rates for {len(spec.arms)} arms")
    explore_days = days // 4 if explore_days is None else explore_days
    rng = np.random.default_rng(seed)
    k, window = len(spec.arms), spec.reward_window_days
    day_pulls = np.zeros((days, k))
    day_rewards = np.zeros((days, k))
    columns: dict[str, list] = {"day": [], "arm": [], "propensity": [], "reward": [], "is_holdout": []}
    regret = []
    for day in range(days):
        closed = max(0, day - window)  # nights whose window has closed by the end of yesterday
        pulls, rewards = day_pulls[:closed].sum(axis=0), day_rewards[:closed].sum(axis=0)
        shares, holdout_share = _shares(policy, spec, day, pulls, rewards, explore_days)
        in_holdout = rng.random(units_per_day) < holdout_share
        arms = np.where(
            in_holdout,
            rng.integers(0, k, units_per_day),
            rng.choice(k, size=units_per_day, p=shares / shares.sum()),
        )
        marginal = holdout_share / k + (1 - holdout_share) * shares
        reward = (rng.random(units_per_day) < rates[arms]).astype(int)
        np.add.at(day_pulls[day], arms, 1)
        np.add.at(day_rewards[day], arms, reward)
        regret.append(float(np.sum(rates.max() - rates[arms])))
        today = {
            "day": np.full(units_per_day, day),
            "arm": arms,
            "propensity": marginal[arms],
            "reward": reward,
            "is_holdout": in_holdout,
        }
        for name, values in today.items():
            columns[name].append(values)
    log = pd.DataFrame({name: np.concatenate(parts) for name, parts in columns.items()})
    log["arm"] = np.asarray(spec.arms, dtype=object)[log["arm"].to_numpy()]
    final = _shares(policy, spec, days, day_pulls.sum(axis=0), day_rewards.sum(axis=0), explore_days)[0]
    return SimulationResult(policy, log, np.cumsum(regret), int(np.argmax(final)))


def powered_explore_days(rates: np.ndarray, units_per_day: int, window_days: int, power: float = 0.8) -> int:
    """Length of the A/B phase a team would run before committing: the units per arm that a
    two-sided pooled z-test at alpha 0.05 needs to detect the gap between the best and the
    second-best planted rate with ``power`` (lawn/power.py), spread over every arm, plus the
    reward window so the last units' rewards are seen."""
    ordered = np.sort(np.asarray(rates, dtype=float))
    if ordered[-1] == ordered[-2]:
        raise BanditError("the two best planted rates are equal: no A/B test can separate them")
    per_arm = sample_size(
        "proportion", baseline=ordered[-2], mde=ordered[-1] - ordered[-2], power=power, method="pooled"
    )
    return math.ceil(per_arm.n_control * len(ordered) / units_per_day) + window_days


def replay(spec: BanditSpec, logged: pd.DataFrame, seed: int) -> tuple[float, int]:
    """Value of the Thompson policy estimated on ``logged`` (day, arm index 0..k-1, reward) whose arms
    were chosen uniformly at random. Returns (mean reward of kept events, events kept)."""
    k, window = len(spec.arms), spec.reward_window_days
    rng = np.random.default_rng(seed)
    days = sorted(logged["day"].unique())
    kept_pulls = {day: np.zeros(k) for day in days}
    kept_rewards = {day: np.zeros(k) for day in days}
    total, kept = 0.0, 0
    for day in days:
        closed = [d for d in days if d + window < day]
        pulls = sum((kept_pulls[d] for d in closed), np.zeros(k))
        rewards = sum((kept_rewards[d] for d in closed), np.zeros(k))
        chosen_shares = propensities(spec, _thompson_shares(spec, pulls, rewards, day))
        events = logged[logged["day"] == day]
        chosen = rng.choice(k, size=len(events), p=chosen_shares / chosen_shares.sum())
        match = chosen == events["arm"].to_numpy()
        arms, hits = events["arm"].to_numpy()[match], events["reward"].to_numpy()[match]
        np.add.at(kept_pulls[day], arms, 1)
        np.add.at(kept_rewards[day], arms, hits)
        total += float(hits.sum())
        kept += int(match.sum())
    return (total / kept if kept else float("nan")), kept
