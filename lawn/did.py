"""Difference-in-differences on a unit x period panel: the classic 2x2, two-way fixed effects,
an event study with a joint pre-trend test, and Callaway & Sant'Anna group-time effects.

Standard errors are cluster-robust by unit (CR1): V = c (X'X)^-1 [sum_g X_g' u_g u_g' X_g]
(X'X)^-1 with Stata's small-sample factor c = G/(G-1) * (N-1)/(N-K), K the regressors that
are not absorbed fixed effects (unit effects are nested in the unit clusters, so they cost
no degrees of freedom, as in Stata's areg/reghdfe); tests and intervals use t with G-1
degrees of freedom. Callaway & Sant'Anna standard errors come from a cluster (unit)
bootstrap of the whole estimation.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats


class PanelError(ValueError):
    """The panel cannot support the requested design (missing columns, no variation, ...)."""


@dataclass
class Estimate:
    name: str
    estimate: float
    std_error: float
    ci_low: float
    ci_high: float
    p_value: float

    def to_dict(self) -> dict:
        return self.__dict__.copy()


@dataclass
class DidResult:
    design: str
    units: int
    periods: int
    observations: int
    clusters: int
    estimates: list[Estimate]
    pre_trend_f: float | None = None
    pre_trend_p_value: float | None = None
    details: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        payload = {key: value for key, value in self.__dict__.items() if key != "estimates"}
        payload["estimates"] = [estimate.to_dict() for estimate in self.estimates]
        return payload


def prepare_panel(frame: pd.DataFrame, unit: str, time: str, outcome: str, extra: list[str]) -> pd.DataFrame:
    """Columns renamed to unit/time/y (+ extras), rows with a missing value dropped, times
    replaced by their rank (0, 1, ...) so dates and integers both work."""
    missing = [column for column in (unit, time, outcome, *extra) if column not in frame.columns]
    if missing:
        raise PanelError(f"column(s) {missing} not in the panel; it has {list(frame.columns)}")
    panel = frame[[unit, time, outcome, *extra]].rename(columns={unit: "unit", time: "time", outcome: "y"})
    panel = panel.dropna()
    if panel.duplicated(["unit", "time"]).any():
        first = panel[panel.duplicated(["unit", "time"], keep=False)].iloc[0]
        raise PanelError(f"more than one row for unit {first['unit']!r} at {time} {first['time']!r}")
    panel["y"] = pd.to_numeric(panel["y"], errors="raise").astype(float)
    periods = np.sort(panel["time"].unique())
    panel["period"] = np.searchsorted(periods, panel["time"].to_numpy())
    return panel.reset_index(drop=True)


def _demean(matrix: np.ndarray, units: np.ndarray, times: np.ndarray, tol: float = 1e-12) -> np.ndarray:
    """Two-way within transformation by alternating projections (exact for unbalanced panels)."""
    out = matrix.astype(float).copy()
    unit_codes, time_codes = pd.factorize(units)[0], pd.factorize(times)[0]
    for _ in range(1000):
        before = out.copy()
        for codes in (unit_codes, time_codes):
            sums = np.zeros((codes.max() + 1, out.shape[1]))
            np.add.at(sums, codes, out)
            counts = np.bincount(codes)[:, None]
            out -= (sums / counts)[codes]
        if np.max(np.abs(out - before)) < tol:
            return out
    raise PanelError("the two-way fixed-effects transformation did not converge")


def cluster_ols(y: np.ndarray, x: np.ndarray, clusters: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """OLS coefficients and their CR1 covariance (see the module doc); returns (b, V, G)."""
    xtx_inv = np.linalg.pinv(x.T @ x)
    beta = xtx_inv @ x.T @ y
    resid = y - x @ beta
    codes = pd.factorize(clusters)[0]
    scores = np.zeros((codes.max() + 1, x.shape[1]))
    np.add.at(scores, codes, x * resid[:, None])
    n, k, g = len(y), x.shape[1], codes.max() + 1
    if g < 2:
        raise PanelError("cluster-robust standard errors need at least 2 units")
    factor = g / (g - 1) * (n - 1) / (n - k)  # k counts only the regressors in x
    return beta, factor * xtx_inv @ (scores.T @ scores) @ xtx_inv, g


def _estimate(name: str, b: float, variance: float, df: int, alpha: float) -> Estimate:
    se = float(np.sqrt(variance))
    q = stats.t.ppf(1 - alpha / 2, df)
    p = float(2 * stats.t.sf(abs(b / se), df)) if se > 0 else float("nan")
    return Estimate(name, float(b), se, float(b - q * se), float(b + q * se), p)


def did_2x2(panel: pd.DataFrame, alpha: float = 0.05) -> DidResult:
    """y = a + b group + c post + d group x post; d is the effect (columns group, post)."""
    for column in ("group", "post"):
        if set(panel[column].unique()) - {0, 1}:
            raise PanelError(f"{column} must be 0/1")
    x = np.column_stack(
        [np.ones(len(panel)), panel["group"], panel["post"], panel["group"] * panel["post"]]
    ).astype(float)
    beta, cov, g = cluster_ols(panel["y"].to_numpy(), x, panel["unit"].to_numpy())
    return DidResult(
        "2x2",
        panel["unit"].nunique(),
        panel["period"].nunique(),
        len(panel),
        g,
        [_estimate("group_x_post", beta[3], cov[3, 3], g - 1, alpha)],
    )


def did_twfe(panel: pd.DataFrame, alpha: float = 0.05) -> DidResult:
    """y_it = a_i + l_t + b D_it (D: 1 for treated unit-periods); b is the effect."""
    if panel["treat"].nunique() < 2:
        raise PanelError("treat never varies: nothing to estimate")
    demeaned = _demean(panel[["y", "treat"]].to_numpy(), panel["unit"].to_numpy(), panel["period"].to_numpy())
    beta, cov, g = cluster_ols(demeaned[:, 0], demeaned[:, 1:], panel["unit"].to_numpy())
    return DidResult(
        "twfe",
        panel["unit"].nunique(),
        panel["period"].nunique(),
        len(panel),
        g,
        [_estimate("treat", beta[0], cov[0, 0], g - 1, alpha)],
    )


def adoption_periods(panel: pd.DataFrame) -> pd.Series:
    """First treated period per unit (NaN for never-treated); treatment must be absorbing."""
    treated = panel[panel["treat"] == 1]
    first = treated.groupby("unit")["period"].min()
    after = panel.merge(first.rename("first"), left_on="unit", right_index=True)
    if (after.loc[after["period"] >= after["first"], "treat"] == 0).any():
        bad = after[(after["period"] >= after["first"]) & (after["treat"] == 0)].iloc[0]
        raise PanelError(f"treatment must stay on once on; unit {bad['unit']!r} switches off")
    return first.reindex(panel["unit"].unique())


def event_study(panel: pd.DataFrame, leads: int = 4, lags: int = 4, alpha: float = 0.05) -> DidResult:
    """Two-way fixed effects with relative-period dummies (-leads..lags, endpoints binned,
    period -1 the reference); the joint F-test of the leads is the pre-trend test."""
    first = adoption_periods(panel)
    relative = panel["period"] - panel["unit"].map(first)
    binned = relative.clip(lower=-leads, upper=lags)
    events = [e for e in range(-leads, lags + 1) if e != -1]
    dummies = np.column_stack([(binned == e).to_numpy(float) for e in events])
    keep = dummies.any(axis=0)
    events = [e for e, k in zip(events, keep, strict=True) if k]
    matrix = np.column_stack([panel["y"].to_numpy(), dummies[:, keep]])
    demeaned = _demean(matrix, panel["unit"].to_numpy(), panel["period"].to_numpy())
    beta, cov, g = cluster_ols(demeaned[:, 0], demeaned[:, 1:], panel["unit"].to_numpy())
    estimates = [_estimate(f"event_{e}", beta[i], cov[i, i], g - 1, alpha) for i, e in enumerate(events)]
    lead_index = [i for i, e in enumerate(events) if e < -1]
    f_stat = p_value = None
    if lead_index:
        b, v = beta[lead_index], cov[np.ix_(lead_index, lead_index)]
        f_stat = float(b @ np.linalg.pinv(v) @ b / len(lead_index))
        p_value = float(stats.f.sf(f_stat, len(lead_index), g - 1))
    return DidResult(
        "event_study",
        panel["unit"].nunique(),
        panel["period"].nunique(),
        len(panel),
        g,
        estimates,
        f_stat,
        p_value,
        {"reference_period": -1, "leads": leads, "lags": lags},
    )
