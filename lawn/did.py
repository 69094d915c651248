"""Difference-in-differences on a unit x period panel: the classic 2x2, two-way fixed effects
and an event study with a joint pre-trend test (Callaway & Sant'Anna: ``lawn.did_staggered``).

Standard errors (``se``), following fixest (``feols``, default ``ssc()``) and pyfixest:

- ``iid``: classical OLS, sigma^2 = RSS / (N - K), t with N - K degrees of freedom;
- ``hc1``: heteroskedasticity-robust, sandwich x N / (N - K), t with N - K df;
- ``cluster`` (by unit, CR1): sandwich x G/(G-1) x (N-1)/(N-K), t with G - 1 df.

Degenerate fits get no inference: when the residuals are numerically zero (an exact fit, e.g.
one treated and one comparison unit, where the unit and period effects and the event dummies
reproduce every outcome) no standard error, interval, p-value or pre-trend test is reported,
only the point estimates and a warning; a robust (hc1/cluster) variance numerically zero
(below 1e-14 x the coefficient's iid variance) or not finite is reported as '-' too. The
pre-trend test is the Wald test of the leads on the numerical rank r of their covariance
(eigenvalues above 1e-10 x the largest): F = Wald / r with (r, df) degrees of freedom; r < q
(the number of leads) when the covariance is singular, e.g. cluster-robust with few clusters.

K counts the explicit regressors plus the absorbed fixed effects. For ``iid``/``hc1`` every
fixed effect counts (unit + time levels - 1). For ``cluster`` fixest's ``fixef.K = "nested"``
rule applies: a fixed effect nested in the clusters (unit effects, when clustering by unit) is
not counted, except for one level (the intercept it stands for); the time effects are not
nested in unit clusters and count in full. On a balanced panel with unit clusters
K = regressors + T. This is also Stata ``reghdfe``'s count (its K includes the constant).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from lawn.did_errors import PanelError
from lawn.did_panel import label as _label
from lawn.did_panel import period_labels as period_labels  # re-exported: did_staggered, tests
from lawn.did_panel import prepare_panel as prepare_panel
from lawn.did_panel import where_row
from lawn.did_periods import period_order as period_order

SE_TYPES = ("iid", "hc1", "cluster")


@dataclass
class Estimate:
    name: str
    estimate: float
    std_error: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    kind: str = "coefficient"
    group: object = None
    period: object = None
    event: int | None = None

    def to_dict(self) -> dict:
        return {key: _plain(value) for key, value in self.__dict__.items()}


def _plain(value: object) -> object:
    """JSON-ready: numpy scalars to Python, NaN/inf to None."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


@dataclass
class DidResult:
    design: str
    units: int
    periods: int
    observations: int
    clusters: int | None
    estimates: list[Estimate]
    se_type: str = "cluster"
    pre_trend_f: float | None = None
    pre_trend_p_value: float | None = None
    details: dict = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        payload = {key: _plain(value) for key, value in self.__dict__.items() if key not in ("estimates",)}
        payload["estimates"] = [estimate.to_dict() for estimate in self.estimates]
        return payload


# ---------------------------------------------------------------- OLS with absorbed effects


def _demean(matrix: np.ndarray, codes_list: list[np.ndarray], tol: float = 1e-13) -> np.ndarray:
    """Within transformation for one or more fixed effects by alternating projections
    (exact for unbalanced panels)."""
    out = matrix.astype(float).copy()
    for _ in range(5000):
        before = out.copy()
        for codes in codes_list:
            sums = np.zeros((codes.max() + 1, out.shape[1]))
            np.add.at(sums, codes, out)
            counts = np.bincount(codes)[:, None]
            out -= (sums / counts)[codes]
        if len(codes_list) == 1 or np.max(np.abs(out - before)) < tol:
            return out
    raise PanelError("the two-way fixed-effects transformation did not converge")


# a fit whose residual norm is at most this fraction of the outcome's variation is exact
EXACT_FIT = 1e-9
# a robust variance at most this fraction of the coefficient's iid variance is rounding
ZERO_VARIANCE = 1e-14
# eigenvalues of the leads' covariance above this fraction of the largest count in its rank
RANK_TOL = 1e-10


@dataclass
class Fit:
    beta: np.ndarray
    cov: np.ndarray
    df: int
    k: int  # the K of the small-sample factor
    clusters: int | None
    exact: bool = False  # residuals numerically zero: no inference
    iid_variance: np.ndarray | None = None  # sigma^2 (X'X)^-1 diagonal: the scale of "zero"

    def usable(self, i: int) -> bool:
        """Whether coefficient i has a standard error: not an exact fit, and a finite
        variance above rounding."""
        variance = float(self.cov[i, i])
        floor = 0.0 if self.iid_variance is None else ZERO_VARIANCE * float(self.iid_variance[i])
        return not self.exact and math.isfinite(variance) and variance > floor


EXACT_FIT_WARNING = (
    "exact fit: the model reproduces every outcome (the residuals are numerically zero, e.g. one "
    "treated and one comparison unit), so there is no standard error, interval or test: point "
    "estimates only"
)


def coefficient(fit: Fit, i: int, name: str, alpha: float, **labels) -> Estimate:
    """Coefficient i as an Estimate; se, interval and p '-' (None) when it has no usable variance."""
    if not fit.usable(i):
        return Estimate(name, float(fit.beta[i]), None, None, None, None, **labels)
    return estimate(name, fit.beta[i], fit.cov[i, i], fit.df, alpha, **labels)


def inference_warnings(fit: Fit, names: dict[int, str]) -> list[str]:
    """Why some reported coefficients (index -> name) have no standard error (an exact fit,
    or a robust variance numerically zero)."""
    if fit.exact:
        return [EXACT_FIT_WARNING]
    missing = [name for i, name in names.items() if not fit.usable(i)]
    if not missing:
        return []
    return [
        f"no standard error for {', '.join(missing)}: its robust variance is numerically zero or not "
        "finite (e.g. two clusters whose scores cancel), so no interval or p-value either"
    ]


def wald_on_rank(b: np.ndarray, v: np.ndarray) -> tuple[float, int]:
    """Wald statistic b' V^+ b on the estimable directions of ``v`` (eigenvalues above RANK_TOL
    x the largest) and their number r; (nan, 0) if none. Never negative."""
    values, vectors = np.linalg.eigh((v + v.T) / 2)
    top = float(values.max()) if values.size else 0.0
    if not (math.isfinite(top) and top > 0):
        return math.nan, 0
    keep = values > RANK_TOL * top
    projected = vectors[:, keep].T @ b
    return float(np.sum(projected**2 / values[keep])), int(keep.sum())


def fit_ols(
    y: np.ndarray,
    x: np.ndarray,
    se: str,
    clusters: np.ndarray,
    fixed_effects: list[np.ndarray] | None = None,
) -> Fit:
    """OLS of y on x after absorbing ``fixed_effects`` (code arrays; x must then have no
    intercept), with the covariance ``se`` (see the module doc; clusters = the unit)."""
    if se not in SE_TYPES:
        raise PanelError(f"--se must be one of {', '.join(SE_TYPES)}, got {se!r}")
    fixed_effects = fixed_effects or []
    codes_list = [pd.factorize(codes)[0] for codes in fixed_effects]
    outcome = np.asarray(y, dtype=float)
    if codes_list:
        demeaned = _demean(np.column_stack([y, x]), codes_list)
        y, x = demeaned[:, 0], demeaned[:, 1:]
    n, k = x.shape
    if np.linalg.matrix_rank(x, tol=1e-9 * max(1.0, float(np.abs(x).max()))) < k:
        raise PanelError(
            "the regressors are collinear (with each other or with the unit and period effects): "
            "e.g. every treated unit adopts in the same period with no never-treated unit, or "
            "--group and --post are the same column"
        )
    xtx_inv = np.linalg.pinv(x.T @ x)
    beta = xtx_inv @ x.T @ y
    resid = y - x @ beta
    levels = [int(codes.max()) + 1 for codes in codes_list]
    k_fe = sum(levels) - (len(levels) - 1) if levels else 0
    cluster_codes = pd.factorize(clusters)[0]
    g = int(cluster_codes.max()) + 1
    if se == "cluster":
        nested = [
            size
            for codes, size in zip(codes_list, levels, strict=True)
            if (pd.DataFrame({"f": codes, "c": cluster_codes}).groupby("f")["c"].nunique() == 1).all()
        ]
        k_total = k + k_fe - sum(nested) + len(nested) if nested else k + k_fe
    else:
        k_total = k + k_fe
    if n - k_total <= 0:
        raise PanelError(f"{n} observations cannot estimate {k_total} parameters")
    # exact: residuals at rounding level against the outcome's variation (or its level when
    # it does not vary)
    scale = max(float(np.linalg.norm(outcome - outcome.mean())), 1e-6 * float(np.linalg.norm(outcome)))
    exact = float(np.linalg.norm(resid)) <= EXACT_FIT * scale
    sigma2 = float(resid @ resid) / (n - k_total)
    iid = sigma2 * xtx_inv
    if se == "iid":
        return Fit(beta, iid, n - k_total, k_total, None, exact, np.diag(iid))
    if se == "hc1":
        meat = (x * resid[:, None]).T @ (x * resid[:, None])
        cov = n / (n - k_total) * xtx_inv @ meat @ xtx_inv
        return Fit(beta, cov, n - k_total, k_total, None, exact, np.diag(iid))
    if g < 2:
        raise PanelError("cluster-robust standard errors need at least 2 units")
    scores = np.zeros((g, k))
    np.add.at(scores, cluster_codes, x * resid[:, None])
    factor = g / (g - 1) * (n - 1) / (n - k_total)
    cov = factor * xtx_inv @ (scores.T @ scores) @ xtx_inv
    return Fit(beta, cov, g - 1, k_total, g, exact, np.diag(iid))


def estimate(name: str, b: float, variance: float, df: float | None, alpha: float, **labels) -> Estimate:
    """Estimate with a t (df) or normal (df None) interval and p-value; se, interval and p
    None ('-') when the variance is not positive and finite (no inference on a zero se)."""
    if not (math.isfinite(variance) and variance > 0):
        return Estimate(name, float(b), None, None, None, None, **labels)
    se = float(np.sqrt(variance))
    dist = stats.norm if df is None else stats.t(df)
    q = float(dist.ppf(1 - alpha / 2))
    p = float(2 * dist.sf(abs(b / se)))
    return Estimate(name, float(b), se, float(b - q * se), float(b + q * se), p, **labels)


def _clusters_warning(fit: Fit, treated_clusters: int) -> list[str]:
    if fit.clusters is not None and treated_clusters < 2:
        return [
            f"only {treated_clusters} treated unit: cluster-robust standard errors rest on one "
            "cluster's residuals and are unreliable (Conley & Taber 2011; MacKinnon & Webb 2017)"
        ]
    return []


def did_2x2(panel: pd.DataFrame, alpha: float = 0.05, se: str = "cluster") -> DidResult:
    """y = a + b group + c post + d group x post; d is the effect (columns group, post). Works
    on a panel or a repeated cross-section (each row its own unit: give a row id as --unit)."""
    if panel["group"].nunique() < 2 or panel["post"].nunique() < 2:
        raise PanelError("the 2x2 needs both groups and both periods (group and post must vary)")
    x = np.column_stack(
        [np.ones(len(panel)), panel["group"], panel["post"], panel["group"] * panel["post"]]
    ).astype(float)
    fit = fit_ols(panel["y"].to_numpy(), x, se, panel["unit"].to_numpy())
    treated_units = panel.loc[panel["group"] == 1, "unit"].nunique()
    return DidResult(
        "2x2",
        int(panel["unit"].nunique()),
        int(panel["period"].nunique()),
        len(panel),
        fit.clusters,
        [coefficient(fit, 3, "group_x_post", alpha)],
        se,
        details={"small_sample_k": fit.k, "df": fit.df, "exact_fit": fit.exact},
        warnings=_clusters_warning(fit, treated_units) + inference_warnings(fit, {3: "group_x_post"}),
    )


def did_twfe(panel: pd.DataFrame, alpha: float = 0.05, se: str = "cluster") -> DidResult:
    """y_it = a_i + l_t + b D_it (D: 1 for treated unit-periods); b is the effect."""
    if panel["treat"].nunique() < 2:
        raise PanelError("treat never varies: nothing to estimate")
    fit = fit_ols(
        panel["y"].to_numpy(),
        panel[["treat"]].to_numpy(float),
        se,
        panel["unit"].to_numpy(),
        [panel["unit"].to_numpy(), panel["period"].to_numpy()],
    )
    treated_units = panel.loc[panel["treat"] == 1, "unit"].nunique()
    return DidResult(
        "twfe",
        int(panel["unit"].nunique()),
        int(panel["period"].nunique()),
        len(panel),
        fit.clusters,
        [coefficient(fit, 0, "treat", alpha)],
        se,
        details={"small_sample_k": fit.k, "df": fit.df, "exact_fit": fit.exact},
        warnings=_clusters_warning(fit, treated_units) + inference_warnings(fit, {0: "treat"}),
    )


def adoption_periods(panel: pd.DataFrame) -> pd.Series:
    """First treated period per unit (NaN for never-treated); treatment must be absorbing."""
    treated = panel[panel["treat"] == 1]
    first = treated.groupby("unit")["period"].min()
    after = panel.merge(first.rename("first"), left_on="unit", right_index=True)
    switched = after[(after["period"] >= after["first"]) & (after["treat"] == 0)]
    if not switched.empty:
        bad = switched.iloc[0]
        labels = period_labels(panel)
        where = f" ({where_row(panel, int(bad['row']))})" if "row" in panel else ""
        raise PanelError(
            f"treatment must stay on once on: unit {_label(bad['unit'])!r} is treated from "
            f"{labels[int(bad['first'])]!r} but untreated at {_label(bad['time'])!r}{where}; "
            "if the periods are out of order, give --time-order"
        )
    return first.reindex(panel["unit"].unique())


def hidden_adoption(panel: pd.DataFrame, first: pd.Series) -> pd.Series:
    """Per unit (``first``'s index): treated after the first period but not observed untreated
    in the period just before its first treated one, so a gap in an unbalanced panel hides
    when it adopted (it may have adopted during the gap)."""
    last_untreated = panel[panel["treat"] == 0].groupby("unit")["period"].max().reindex(first.index)
    return first.notna() & (first > 0) & (last_untreated != first - 1)


def event_study(
    panel: pd.DataFrame, leads: int = 4, lags: int = 4, alpha: float = 0.05, se: str = "cluster"
) -> DidResult:
    """Two-way fixed effects with relative-period dummies (-leads..lags, endpoints binned,
    period -1 the reference); the joint F-test of the leads is the pre-trend test."""
    if leads < 1 or lags < 0:
        raise PanelError("--leads must be at least 1 and --lags at least 0")
    if (panel["treat"] == 1).all():
        raise PanelError("treat never varies: every unit is treated in every period")
    first = adoption_periods(panel)
    if first.isna().all():
        raise PanelError("no unit is ever treated")
    hidden = hidden_adoption(panel, first)
    warnings = []
    if hidden.any():
        # their event times are unknown: counting from the first observed treated period
        # would shift them
        warnings.append(
            f"{int(hidden.sum())} treated unit(s) left out (e.g. {_label(hidden.index[hidden][0])!r}): not "
            "observed (with an outcome) in the period just before their first treated one, so when they "
            "adopted is unknown"
        )
        panel = panel[~panel["unit"].isin(hidden.index[hidden])]
        first = first[~hidden]
        if first.isna().all():
            raise PanelError(f"no treated unit is left: {warnings[0]}")
    relative = panel["period"] - panel["unit"].map(first)
    binned = relative.clip(lower=-leads, upper=lags)
    events = [e for e in range(-leads, lags + 1) if e != -1]
    dummies = np.column_stack([(binned == e).to_numpy(float) for e in events])
    keep = dummies.any(axis=0)
    events = [e for e, k in zip(events, keep, strict=True) if k]
    fit = fit_ols(
        panel["y"].to_numpy(),
        dummies[:, keep],
        se,
        panel["unit"].to_numpy(),
        [panel["unit"].to_numpy(), panel["period"].to_numpy()],
    )
    names = [f"event_{e}" for e in events]
    estimates = [coefficient(fit, i, names[i], alpha, kind="event", event=e) for i, e in enumerate(events)]
    lead_index = [i for i, e in enumerate(events) if e < -1]
    f_stat = p_value = None
    testable = 0
    if lead_index and not fit.exact:
        b, v = fit.beta[lead_index], fit.cov[np.ix_(lead_index, lead_index)]
        wald, testable = wald_on_rank(b, v)
        if testable:
            f_stat = wald / testable
            p_value = float(stats.f.sf(f_stat, testable, fit.df))
    inference = inference_warnings(fit, dict(enumerate(names)))
    if lead_index and not fit.exact and not testable:
        inference.append("no pre-trend test: the covariance of the leads is numerically zero")
    treated_units = int(first.notna().sum())
    return DidResult(
        "event_study",
        int(panel["unit"].nunique()),
        int(panel["period"].nunique()),
        len(panel),
        fit.clusters,
        estimates,
        se,
        f_stat,
        p_value,
        {
            "reference_event_time": -1,
            "leads": leads,
            "lags": lags,
            "small_sample_k": fit.k,
            "df": fit.df,
            "exact_fit": fit.exact,
            "pre_trend_leads": len(lead_index),
            "pre_trend_testable": testable,
            "pre_trend_df": [testable, fit.df] if f_stat is not None else None,
            "units_with_unobserved_adoption_dropped": int(hidden.sum()),
        },
        warnings=warnings + _clusters_warning(fit, treated_units) + inference,
    )
