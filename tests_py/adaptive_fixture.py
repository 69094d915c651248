"""A hand-written warehouse for the adaptive-decision report tests: two bandits (one contextual)
over 12 nights with hand-set shares and posteriors, propensities and rewards drawn from planted arm
rates; planted uplift examples; and the independent recomputations the tests compare with
(regret by loops, Beta intervals by integration, Qini by subsets, Markdown table parsing)."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import numpy as np
import pandas as pd

from lawn import report_adaptive
from tests_py import cadence_fixture as fx

DAY0 = dt.date(2026, 6, 4)
NIGHTS = [DAY0 + dt.timedelta(days=i) for i in range(12)]  # 06-04 .. 06-15 (the fixture's as-of)
LAST = NIGHTS[-1]
WINDOW = 3
HOLDOUT = 0.2
FLOOR = 0.05
UNITS = 40  # per night and context
# bandit -> context -> arm -> planted reward rate
RATES = {
    "prompt": {"all": {"checklist": 0.05, "sample_invoice": 0.12, "video_tour": 0.30}},
    "email_order": {
        "enterprise": {"long": 0.25, "short": 0.05},
        "smb": {"long": 0.10, "short": 0.20},
    },
}


def _shares(rates: dict[str, float], night: int, nights: int) -> np.ndarray:
    """Hand-set shares moving from uniform to 90% on the best arm (floored at FLOOR)."""
    k, w = len(rates), night / max(nights - 1, 1)
    target = np.array([1 - FLOOR * (k - 1) if r == max(rates.values()) else FLOOR for r in rates.values()])
    return (1 - w) * np.full(k, 1 / k) + w * target


def bandit_world(nights=NIGHTS, last: dt.date = LAST, seed: int = 3, units: int = UNITS) -> dict:
    """The four bandit marts, hand-written: allocations, assignments with propensities, rewards
    drawn from RATES (null while the window is open at ``last``), and a readout."""
    rng = np.random.default_rng(seed)
    allocation, assignments = [], []
    for bandit_id, contexts in RATES.items():
        for context, rates in contexts.items():
            arms = sorted(rates)
            for n, night in enumerate(nights):
                shares = _shares({a: rates[a] for a in arms}, n, len(nights))
                for a, arm in enumerate(arms):
                    alpha, beta = 1 + round(n * 8 * rates[arm]), 1 + round(n * 8 * (1 - rates[arm]))
                    allocation.append({
                        "bandit_allocation_key": f"{bandit_id}:{night}:{context}:{arm}",
                        "bandit_id": bandit_id, "decision_day": night, "context": context, "arm": arm,
                        "template_id": f"tpl-{arm}", "posterior_alpha": float(alpha),
                        "posterior_beta": float(beta), "posterior_mean": alpha / (alpha + beta),
                        "prob_best": (shares[a] - FLOOR) / (1 - len(arms) * FLOOR), "share": shares[a],
                        "propensity": HOLDOUT / len(arms) + (1 - HOLDOUT) * shares[a], "seed": 7,
                        "draws": 1000, "exploration_floor": FLOOR, "holdout_share": HOLDOUT,
                    })  # fmt: skip
                for u in range(units):
                    holdout = bool(rng.random() < HOLDOUT)
                    weights = np.full(len(arms), 1 / len(arms)) if holdout else shares
                    a = int(rng.choice(len(arms), p=weights))
                    closed = night + dt.timedelta(days=WINDOW) <= last
                    reward = int(rng.random() < rates[arms[a]])
                    assignments.append({
                        "bandit_assignment_key": f"{bandit_id}:{night}:{context}:{u}", "bandit_id": bandit_id,
                        "action_id": f"{bandit_id}-{night}-{context}-{u}", "account_id": f"acc-{u}",
                        "decision_day": night, "context": context, "arm": arms[a],
                        "template_id": f"tpl-{arms[a]}",
                        "is_holdout": holdout, "propensity": HOLDOUT / len(arms) + (1 - HOLDOUT) * shares[a],
                        "is_window_closed": closed, "reward": reward if closed else None,
                        "true_rate": rates[arms[a]],
                    })  # fmt: skip
    allocation, assignments = pd.DataFrame(allocation), pd.DataFrame(assignments)
    placed = assignments.groupby(["bandit_id", "decision_day", "context", "arm"]).agg(
        actions_assigned=("action_id", "size"), holdout_actions_assigned=("is_holdout", "sum")
    )
    allocation = allocation.join(placed, on=["bandit_id", "decision_day", "context", "arm"])
    allocation[["actions_assigned", "holdout_actions_assigned"]] = (
        allocation[["actions_assigned", "holdout_actions_assigned"]].fillna(0).astype("int64")
    )
    readout = allocation[["bandit_id", "arm", "template_id"]].drop_duplicates().assign(
        closed_units=0, arm_units=0, naive_rate=np.nan, ipw_rate=np.nan, ipw_se=np.nan, holdout_units=0,
        holdout_rate=np.nan, holdout_arm_rate=np.nan, lift_vs_holdout=np.nan, sequential_ci_low=np.nan,
        sequential_ci_high=np.nan, sequential_p_value=np.nan,
    )  # fmt: skip
    return {
        "marts.fct_bandit_arms_daily": allocation,
        "marts.fct_bandit_assignments": assignments.drop(columns=["is_window_closed", "reward", "true_rate"]),
        "marts.fct_bandit_outcomes": assignments.drop(columns=["true_rate"]).astype({"reward": "Int64"}),
        "marts.fct_bandit_readout": readout,
        "truth": assignments,
    }


def write_world(path: Path, frames: dict[str, pd.DataFrame]) -> Path:
    return fx.write_warehouse(path, {k: v for k, v in frames.items() if k.startswith("marts.")})


def md_table(lines: list[str], start: int) -> tuple[pd.DataFrame, int]:
    """The first Markdown table at or after line ``start``, as text, and the line after it."""
    first = next(i for i in range(start, len(lines)) if lines[i].startswith("|"))
    rows, i = [], first
    while i < len(lines) and lines[i].startswith("|"):
        rows.append([cell.strip() for cell in lines[i].strip("|").split(" | ")])
        i += 1
    return pd.DataFrame(rows[2:], columns=rows[0]), i


def part_lines(part: report_adaptive.Part) -> list[str]:
    return "\n".join(part.markdown).splitlines()


def after(lines: list[str], text: str) -> int:
    return next(i for i, line in enumerate(lines) if line.startswith(text))


def num(column: pd.Series) -> np.ndarray:
    return pd.to_numeric(column.replace("-", np.nan)).to_numpy(float)


def beta_interval(a: float, b: float, level: float = 0.95) -> tuple[float, float]:
    """Equal-tailed Beta interval by integrating the density on a fine grid (no scipy)."""
    x = np.linspace(0, 1, 400_001)[1:-1]
    log_norm = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
    density = np.exp(log_norm + (a - 1) * np.log(x) + (b - 1) * np.log1p(-x))
    cdf = np.concatenate([[0.0], np.cumsum((density[1:] + density[:-1]) / 2 * np.diff(x))])
    tail = (1 - level) / 2
    return float(np.interp(tail, cdf, x)), float(np.interp(1 - tail, cdf, x))


def regret_by_hand(outcomes: pd.DataFrame, allocation: pd.DataFrame) -> dict[tuple, tuple[float, ...]]:
    """(bandit, night) -> (bandit regret, uniform regret by IPW, uniform regret by the holdout's
    observed rate), by explicit loops over rewards and propensities. An arm's IPW rate averages
    over the closed units decided on a night whose allocation (in their context) offered it."""
    offered: dict[tuple, set] = {}
    for row in allocation.to_dict("records"):
        night = (row["bandit_id"], row["context"], pd.Timestamp(row["decision_day"]).date())
        offered.setdefault(night, set()).add(row["arm"])
    sums: dict[tuple, dict] = {}
    for record in outcomes.to_dict("records"):
        if not record["is_window_closed"]:
            continue
        entry = sums.setdefault((record["bandit_id"], record["context"]), {"n": {}, "arm": {}, "h": [0, 0]})
        night = (record["bandit_id"], record["context"], pd.Timestamp(record["decision_day"]).date())
        for arm in offered.get(night, set()):
            entry["n"][arm] = entry["n"].get(arm, 0) + 1
        entry["arm"][record["arm"]] = (
            entry["arm"].get(record["arm"], 0.0) + record["reward"] / record["propensity"]
        )
        if record["is_holdout"]:
            entry["h"][0] += 1
            entry["h"][1] += record["reward"]
    rates = {}
    for key, entry in sums.items():
        arms = sorted(set(allocation.loc[allocation["bandit_id"] == key[0], "arm"]))
        ipw = {arm: entry["arm"].get(arm, 0.0) / entry["n"][arm] for arm in arms if entry["n"].get(arm)}
        holdout = entry["h"][1] / entry["h"][0] if entry["h"][0] else float("nan")
        rates[key] = (ipw, max(ipw.values()), sum(ipw.values()) / len(ipw), holdout)
    out: dict[tuple, list[float]] = {}
    for row in allocation.to_dict("records"):
        key = (row["bandit_id"], row["context"])
        if key not in rates:
            continue
        ipw, best, uniform, holdout = rates[key]
        night = out.setdefault((row["bandit_id"], pd.Timestamp(row["decision_day"]).date()), [0.0, 0.0, 0.0])
        night[0] += row["actions_assigned"] * (best - ipw[row["arm"]])
        night[1] += row["actions_assigned"] * (best - uniform)
        night[2] += row["actions_assigned"] * (best - holdout)
    return {k: tuple(v) for k, v in out.items()}


def uplift_examples(n: int = 4000, seed: int = 11) -> pd.DataFrame:
    from tests_py.test_uplift import planted_frame
    from tests_py.test_uplift_model import _with_features

    planted = _with_features(planted_frame(n, seed), 1)
    planted["account_id"] = [f"acc_{i:06d}" for i in range(len(planted))]
    return planted.assign(
        uplift_model_id="retention_offer_uplift",
        is_treated=planted["treated"].astype(bool),
        is_label_known=True,
        benefit_sign=-1,
        outcome=planted["outcome"].astype(bool),
    )


def qini_by_subsets(frame: pd.DataFrame, uplift: np.ndarray, ks: list[int]) -> list[float]:
    """Benefit-signed incremental outcomes of the top-k accounts, each k on its own subset."""
    order = np.argsort(-uplift, kind="stable")
    out = []
    for k in ks:
        top = frame.iloc[order[:k]]
        treated, control = top[top["treated"] == 1], top[top["treated"] == 0]
        scale = len(treated) / len(control) if len(control) else 0.0
        out.append(-(treated["outcome"].sum() - control["outcome"].sum() * scale))
    return out
