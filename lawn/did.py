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

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from lawn.did_errors import PanelError
from lawn.did_ols import SE_TYPES as SE_TYPES  # re-exported: did_run, tests
from lawn.did_ols import Estimate as Estimate
from lawn.did_ols import Fit, _plain, coefficient, fit_ols, inference_warnings, wald_on_rank
from lawn.did_ols import estimate as estimate
from lawn.did_panel import label as _label
from lawn.did_panel import period_labels as period_labels  # re-exported: did_staggered, tests
from lawn.did_panel import prepare_panel as prepare_panel
from lawn.did_panel import where_row
from lawn.did_periods import period_order as period_order


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
