"""Callaway & Sant'Anna (2021) group-time average treatment effects for staggered adoption.

For every adoption cohort g (units first treated in period g) and period t:
ATT(g, t) = mean over cohort g of (y_t - y_{g-1}) - the same mean over the comparison units
(never-treated, or not yet treated by max(t, g-1)), on units observed in both periods
(a universal base period g-1, so pre-period cells are placebo estimates). Aggregations:
simple (post-treatment cells weighted by cohort size), by cohort (mean over its post
periods) and by event time e = t - g (cohorts weighted by size). Standard errors: a unit
(cluster) bootstrap of the whole estimation; intervals and p-values are normal.
Units treated in the first period have no pre-period and are left out (reported).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from lawn.did import DidResult, Estimate, PanelError, adoption_periods


def _cells(
    wide: np.ndarray, first: np.ndarray, control_group: str
) -> list[tuple[int, int, np.ndarray, np.ndarray]]:
    """(g, t, treated mask, control mask) per estimable cell; masks over units."""
    periods = wide.shape[1]
    cohorts = sorted({int(g) for g in first[~np.isnan(first)] if g >= 1})
    cells = []
    for g in cohorts:
        base = g - 1
        for t in range(periods):
            if t == base:
                continue
            observed = ~np.isnan(wide[:, t]) & ~np.isnan(wide[:, base])
            treated = observed & (first == g)
            if control_group == "never_treated":
                control = observed & np.isnan(first)
            else:
                control = observed & (np.isnan(first) | (first > max(t, base))) & (first != g)
            if treated.any() and control.any():
                cells.append((g, t, treated, control))
    return cells


def _estimates(
    wide: np.ndarray, cells: list, weights: np.ndarray, cohort_size: dict[int, float]
) -> dict[str, float]:
    """Every ATT(g, t) and aggregation for unit weights ``weights`` (1s, or bootstrap counts)."""
    out: dict[str, float] = {}
    post: list[tuple[int, int, float]] = []
    for g, t, treated, control in cells:
        delta = wide[:, t] - wide[:, g - 1]
        wt, wc = weights * treated, weights * control
        if wt.sum() == 0 or wc.sum() == 0:
            att = np.nan
        else:
            att = np.nansum(wt * delta) / wt.sum() - np.nansum(wc * delta) / wc.sum()
        out[f"att_g{g}_t{t}"] = att
        if t >= g:
            post.append((g, t, att))
    frame = pd.DataFrame(post, columns=["g", "t", "att"])
    frame["size"] = frame["g"].map(cohort_size)
    frame["event"] = frame["t"] - frame["g"]
    frame = frame.dropna(subset=["att"])
    out["simple"] = float(np.average(frame["att"], weights=frame["size"]))
    for g, group in frame.groupby("g"):
        out[f"cohort_{g}"] = float(group["att"].mean())
    for e, group in frame.groupby("event"):
        out[f"event_{e}"] = float(np.average(group["att"], weights=group["size"]))
    return out


def callaway_santanna(
    panel: pd.DataFrame,
    control_group: str = "never_treated",
    bootstrap: int = 499,
    alpha: float = 0.05,
    seed: int = 0,
) -> DidResult:
    """Group-time ATTs and their aggregations (see the module doc)."""
    if control_group not in ("never_treated", "not_yet_treated"):
        raise PanelError(f"control group must be never_treated or not_yet_treated, got {control_group!r}")
    first = adoption_periods(panel)
    wide = panel.pivot(index="unit", columns="period", values="y").reindex(
        columns=range(panel["period"].max() + 1)
    )
    first_by_unit = first.reindex(wide.index).to_numpy(dtype=float)
    dropped = int((first_by_unit == 0).sum())
    keep = first_by_unit != 0
    matrix, first_by_unit = wide.to_numpy(dtype=float)[keep], first_by_unit[keep]
    if control_group == "never_treated" and not np.isnan(first_by_unit).any():
        raise PanelError("no never-treated unit: use --control not_yet_treated")
    cells = _cells(matrix, first_by_unit, control_group)
    if not cells:
        raise PanelError("no cohort has both a pre-period and comparison units")
    cohort_size = {int(g): float((first_by_unit == g).sum()) for g in {c[0] for c in cells}}
    point = _estimates(matrix, cells, np.ones(len(matrix)), cohort_size)
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(bootstrap):
        counts = rng.multinomial(len(matrix), np.full(len(matrix), 1 / len(matrix))).astype(float)
        draws.append(_estimates(matrix, cells, counts, cohort_size))
    draws_frame = pd.DataFrame(draws)
    z = stats.norm.ppf(1 - alpha / 2)
    estimates = []
    for name, value in point.items():
        se = float(np.nanstd(draws_frame[name], ddof=1)) if name in draws_frame else float("nan")
        p = float(2 * stats.norm.sf(abs(value / se))) if se > 0 else float("nan")
        estimates.append(Estimate(name, float(value), se, float(value - z * se), float(value + z * se), p))
    order = {"simple": 0, "cohort": 1, "event": 2, "att": 3}
    estimates.sort(key=lambda e: (order[e.name.split("_")[0]], e.name))
    return DidResult(
        "callaway_santanna",
        int(keep.sum()),
        matrix.shape[1],
        int((~np.isnan(matrix)).sum()),
        int(keep.sum()),
        estimates,
        details={
            "control_group": control_group,
            "bootstrap_replications": bootstrap,
            "cohort_sizes": {str(g): int(n) for g, n in cohort_size.items()},
            "units_treated_in_first_period_dropped": dropped,
            "base_period": "g-1 (universal)",
        },
    )
