"""Least squares for lawn's difference-in-differences: the estimates' record, OLS with absorbed
fixed effects (alternating projections), the iid / hc1 / cluster (CR1) covariances, and the
rank-aware Wald statistic. The small-sample rules (fixest's, see ``lawn.did``'s module doc) are
here; the designs (2x2, two-way fixed effects, event study) are in ``lawn.did``."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from lawn.did_errors import PanelError

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
