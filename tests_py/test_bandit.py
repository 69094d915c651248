"""The bandit's allocation (lawn/bandit.py) and its offline evaluation (lawn/bandit_sim.py).

Independent references: the probability of being best is checked against numerical
integration with scipy (P(i best) = integral of f_i(x) * prod_j F_j(x) dx), delayed crediting
against a hand-written log, IPW against the planted arm rates over 200 seeds, replay against
on-policy simulation."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, stats

from lawn.bandit import (
    BanditError,
    BanditSpec,
    allocate,
    assign_units,
    credited_counts,
    ipw_means,
    prob_best,
    verify_allocation,
    with_floor,
)
from lawn.bandit_sim import powered_explore_days, replay, simulate

ARMS = ("short_subject", "long_subject", "video")
RATES = np.array([0.04, 0.06, 0.09])


def spec(**overrides) -> BanditSpec:
    settings = {"bandit_id": "onboarding_email", "arms": ARMS, "reward_window_days": 3, "draws": 2000}
    return BanditSpec(**(settings | overrides))


def test_delayed_rewards_are_credited_only_when_the_window_closes():
    # hand-written log, window 7 days, counted at the end of 2026-03-10
    logs = pd.DataFrame(
        [
            # closed (03-01 + 7 = 03-08), reward inside the window: a success
            ("all", "video", "2026-03-01", "2026-03-05"),
            # closes exactly on 03-10; reward on 03-12 is after the window: a failure
            ("all", "video", "2026-03-03", "2026-03-12"),
            # still open (closes 03-12): not counted at all, although a reward is already seen
            ("all", "video", "2026-03-05", "2026-03-06"),
            # a reward stamped before the assignment (a clock error) is not a success
            ("all", "short_subject", "2026-03-01", "2026-02-28"),
            ("all", "short_subject", "2026-03-02", None),
            ("smb", "short_subject", "2026-03-01", "2026-03-01"),
        ],
        columns=["context", "arm", "assigned_on", "rewarded_on"],
    )
    counts = credited_counts(spec(reward_window_days=7), logs, dt.date(2026, 3, 10))
    got = {(r.context, r.arm): (r.pull, r.reward) for r in counts.itertuples()}
    assert got == {
        ("all", "video"): (2, 1),
        ("all", "short_subject"): (2, 0),
        ("smb", "short_subject"): (1, 1),
    }


def test_unknown_arm_and_missing_columns_are_one_line_errors():
    with pytest.raises(BanditError, match="unknown arms"):
        credited_counts(spec(), pd.DataFrame({"context": ["all"], "arm": ["x"], "assigned_on": ["2026-03-01"],
                                              "rewarded_on": [None]}), dt.date(2026, 3, 9))  # fmt: skip
    with pytest.raises(BanditError, match="lack columns"):
        credited_counts(spec(), pd.DataFrame({"arm": ["video"]}), dt.date(2026, 3, 9))
    with pytest.raises(BanditError, match="exploration_floor"):
        spec(exploration_floor=0.4)


def _integrated_prob_best(alpha: np.ndarray, beta: np.ndarray) -> np.ndarray:
    def density(x: float, i: int) -> float:
        value = stats.beta.pdf(x, alpha[i], beta[i])
        for j in range(len(alpha)):
            if j != i:
                value *= stats.beta.cdf(x, alpha[j], beta[j])
        return value

    return np.array([integrate.quad(density, 0, 1, args=(i,), limit=200)[0] for i in range(len(alpha))])


@pytest.mark.parametrize(
    "alpha, beta",
    [([11.0, 15.0], [91.0, 87.0]), ([5.0, 7.0, 9.0], [95.0, 93.0, 91.0]), ([1.0, 1.0, 2.0], [1.0, 1.0, 1.0])],
)
def test_prob_best_matches_numerical_integration(alpha, beta):
    alpha, beta = np.array(alpha), np.array(beta)
    draws = 400_000
    estimated = prob_best(alpha, beta, seed=7, draws=draws)
    exact = _integrated_prob_best(alpha, beta)
    assert exact.sum() == pytest.approx(1.0, abs=1e-6)
    # Monte Carlo standard error of a share is at most 0.5 / sqrt(draws)
    assert np.abs(estimated - exact).max() < 4 * 0.5 / np.sqrt(draws)


def test_floor_keeps_every_arm_and_sums_to_one():
    shares = with_floor(np.array([1.0, 0.0, 0.0]), 0.05)
    assert shares.min() == pytest.approx(0.05) and shares.sum() == pytest.approx(1.0)
    assert shares[0] == pytest.approx(0.9)


def _counts(pulls, rewards, context="all") -> pd.DataFrame:
    return pd.DataFrame({"context": context, "arm": list(ARMS), "pull": pulls, "reward": rewards})


def test_allocation_is_seeded_traceable_and_moves_to_the_better_arm():
    counts = _counts([400, 400, 400], [16, 24, 36])
    day = dt.date(2026, 4, 1)
    first, again = allocate(spec(), counts, day), allocate(spec(), counts, day)
    assert first == again  # same data, same night: the same allocation
    assert verify_allocation(first)
    assert first.alpha == (17.0, 25.0, 37.0) and first.beta == (385.0, 377.0, 365.0)
    assert first.shares[2] == max(first.shares) and min(first.shares) >= 0.05 - 1e-12
    tampered = type(first)(**{**first.__dict__, "alpha": (17.0, 25.0, 20.0)})
    assert not verify_allocation(tampered)
    records = first.records()
    assert [r["arm"] for r in records] == list(ARMS) and sum(r["share"] for r in records) == pytest.approx(1)


def test_contexts_learn_separately():
    counts = pd.concat(
        [_counts([300, 300, 300], [30, 3, 3], "smb"), _counts([300, 300, 300], [3, 3, 30], "ent")]
    )
    day = dt.date(2026, 4, 1)
    smb, ent = allocate(spec(), counts, day, "smb"), allocate(spec(), counts, day, "ent")
    assert np.argmax(smb.shares) == 0 and np.argmax(ent.shares) == 2


def test_assignment_is_deterministic_and_follows_the_propensities():
    allocation = allocate(spec(), _counts([200, 200, 200], [8, 12, 20]), dt.date(2026, 4, 1))
    units = pd.DataFrame({"unit_id": [f"acc_{i:05d}" for i in range(30_000)], "context": "all"})
    placed = assign_units(spec(), {"all": allocation}, units)
    assert placed.equals(assign_units(spec(), {"all": allocation}, units))
    observed = placed["arm"].value_counts(normalize=True).reindex(list(ARMS)).to_numpy()
    expected = placed.groupby("arm")["propensity"].first().reindex(list(ARMS)).to_numpy()
    assert expected.sum() == pytest.approx(1.0)
    assert np.abs(observed - expected).max() < 4 * np.sqrt(0.25 / len(units))
    assert placed["is_holdout"].mean() == pytest.approx(0.10, abs=4 * np.sqrt(0.09 / len(units)))
    holdout_arms = placed.loc[placed["is_holdout"], "arm"].value_counts(normalize=True)
    assert np.abs(holdout_arms - 1 / 3).max() < 0.03  # the holdout stays uniform


def test_ipw_is_unbiased_over_200_seeds():
    errors = []
    for seed in range(200):
        run = simulate("thompson", spec(), RATES, days=30, units_per_day=100, seed=seed)
        estimate = ipw_means(ARMS, run.log)
        errors.append(estimate["ipw_mean"].to_numpy() - RATES)
    errors = np.array(errors)
    mean_error = errors.mean(axis=0)
    standard_error = errors.std(axis=0, ddof=1) / np.sqrt(len(errors))
    assert (np.abs(mean_error) < 3 * standard_error).all(), (mean_error, standard_error)


def test_regret_below_uniform_and_a_powered_ab_test_and_best_arm_found():
    explore = powered_explore_days(RATES, units_per_day=200, window_days=3)
    assert explore == 22  # 1,209 units per arm (pooled z-test, 0.06 -> 0.09) x 3 arms / 200 a day + 3
    regret = {policy: [] for policy in ("thompson", "uniform", "explore_then_commit")}
    found = 0
    for seed in range(20):
        for policy in regret:
            run = simulate(policy, spec(), RATES, days=60, units_per_day=200, seed=seed, explore_days=explore)
            regret[policy].append(run.cumulative_regret[-1])
            found += policy == "thompson" and run.final_best_arm == 2
    mean = {policy: np.mean(values) for policy, values in regret.items()}
    # uniform regret is known in closed form: units x (best rate - mean rate)
    assert mean["uniform"] == pytest.approx(60 * 200 * (RATES.max() - RATES.mean()), rel=0.05)
    assert mean["thompson"] < mean["explore_then_commit"] < mean["uniform"]
    assert found >= 19


def test_replay_on_uniform_logs_estimates_the_policy_value():
    rng = np.random.default_rng(3)
    days, per_day = 40, 300
    arms = rng.integers(0, 3, days * per_day)
    logged = pd.DataFrame(
        {
            "day": np.repeat(np.arange(days), per_day),
            "arm": arms,
            "reward": (rng.random(arms.size) < RATES[arms]) * 1,
        }
    )
    value, kept = replay(spec(), logged, seed=1)
    assert 0.25 * len(logged) < kept < 0.45 * len(logged)  # about a third of uniform events match
    # on-policy value of the same policy seeing a third of the traffic, averaged over seeds
    on_policy = np.mean(
        [
            simulate("thompson", spec(), RATES, days=days, units_per_day=100, seed=s).log["reward"].mean()
            for s in range(20)
        ]
    )
    assert value == pytest.approx(on_policy, abs=3 * np.sqrt(0.09 * 0.91 / kept))
    assert RATES.mean() < value <= RATES.max()
