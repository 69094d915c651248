"""Callaway & Sant'Anna (2021) group-time average treatment effects for staggered adoption,
unconditional (no covariates), as R ``did::att_gt`` / ``aggte`` and Python ``csdid``.

For every adoption cohort g (units first treated in period g) and period t:
ATT(g, t) = mean over cohort g of (y_t - y_b) - the same mean over the comparison units
(never-treated, or not yet treated by max(t, b) and not in g), on the units observed (with
an outcome) in both periods. On an unbalanced panel this differs from R did's ``att_gt``
(``panel = TRUE``) and csdid, which drop every unit missing a period (accounts created over
time would leave few): a warning says so. The base period b is g-1 for
post-treatment cells; for pre-treatment cells (t < g) it is t-1 with
``base_period="varying"`` (R did's default: short placebo differences) and g-1 with
``"universal"`` (the cell t = g-1 is then the reference, 0 by construction).
Cohorts and periods are labelled by their values; event time e = t - g counts periods.

Aggregations (R did ``aggte``): simple (post cells weighted by cohort size), group (each
cohort's mean over its post periods; overall = cohort-size weighted), dynamic (event time e,
cohorts weighted by size, pre and post; overall = mean over e >= 0) and calendar (period t,
treated cohorts weighted by size; overall = mean over t).

Standard errors come from the influence functions: for a cell, psi_i = n (dy_i - mean_T) / n_T
for its treated units and -n (dy_i - mean_C) / n_C for its comparison units, se =
sqrt(sum psi_i^2) / n; aggregations combine the cells' psi with their weights plus the term for
the estimated cohort shares (R did's ``wif``). Intervals and p-values are normal. With
``bootstrap > 0`` the se is R did's multiplier bootstrap instead (Mammen weights on psi,
se = IQR / (z.75 - z.25)): it resamples no units, so it cannot collapse when a cohort has
only one unit. A cohort of one unit is reported with a warning: its own variance cannot be
estimated, so its standard errors reflect the comparison units only (a lower bound).
Units treated in the first period have no pre-period and are left out (reported), and so
are treated units not observed in the period just before their first treated one (an
unbalanced panel's gap hides when they adopted).

With not-yet-treated controls and no never-treated unit, R did's rule (``pre_process_did``)
applies, as in csdid: the last cohort is a comparison group only (no cells of its own) and
periods from its adoption on are dropped. A standard error at rounding level (at most
``ZERO_SE`` x the outcome's variation, ``zero_se_floor``; e.g. one treated against one
comparison unit) or not finite is reported as none, with no interval or p-value (R did: NA).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from lawn.did import (
    DidResult,
    Estimate,
    PanelError,
    adoption_periods,
    estimate,
    hidden_adoption,
    period_labels,
)
from lawn.did_panel import label

CONTROL_GROUPS = ("never_treated", "not_yet_treated")
BASE_PERIODS = ("varying", "universal")
# a standard error at most this fraction of the outcome's variation is rounding (zero_se_floor)
ZERO_SE = 1e-10


@dataclass
class _Cell:
    g: int
    t: int
    base: int
    att: float
    psi: np.ndarray  # influence function over all units
    reference: bool = False


def _cells(
    wide: np.ndarray,
    first: np.ndarray,
    control_group: str,
    base_period: str,
    labels: dict[int, object],
    warnings: list[str],
    comparison_only: int | None = None,
) -> list[_Cell]:
    """The ATT(g, t) cells of every cohort but ``comparison_only`` (the last cohort when no
    unit is never treated: a comparison group only)."""
    n, periods = wide.shape
    cohorts = sorted({int(g) for g in first[np.isfinite(first)]} - {comparison_only})
    start = 0 if base_period == "universal" else 1
    cells = []
    for g in cohorts:
        for t in range(start, periods):
            base = t - 1 if (base_period == "varying" and t < g) else g - 1
            if t == base:
                cells.append(_Cell(g, t, base, 0.0, np.zeros(n), reference=True))
                continue
            observed = ~np.isnan(wide[:, t]) & ~np.isnan(wide[:, base])
            treated = observed & (first == g)
            if control_group == "never_treated":
                control = observed & ~np.isfinite(first)
            else:
                control = observed & (first > max(t, base)) & (first != g)
            if not treated.any() or not control.any():
                missing = "treated" if not treated.any() else "comparison"
                warnings.append(f"att(g={labels[g]},t={labels[t]}) not estimable: no {missing} unit")
                continue
            delta = wide[:, t] - wide[:, base]
            mean_t, mean_c = delta[treated].mean(), delta[control].mean()
            psi = np.zeros(n)
            psi[treated] = n * (delta[treated] - mean_t) / treated.sum()
            psi[control] = -n * (delta[control] - mean_c) / control.sum()
            cells.append(_Cell(g, t, base, float(mean_t - mean_c), psi))
    return cells


def _weights_if(keep: list[int], cells: list[_Cell], pg: np.ndarray, first: np.ndarray) -> np.ndarray:
    """Influence of estimating the cohort shares in weights pg_k / sum(pg) (R did's wif)."""
    share = pg[keep]
    total = share.sum()
    indicator = np.column_stack([(first == cells[k].g).astype(float) for k in keep]) - share
    return indicator / total - np.outer(indicator.sum(axis=1), share / total**2)


class _Aggregator:
    """Collects (name, value, psi, labels) for every reported quantity."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.rows: list[tuple[str, float, np.ndarray, dict]] = []

    def add(self, name: str, value: float, psi: np.ndarray, **labels) -> None:
        self.rows.append((name, float(value), psi, labels))

    def weighted(
        self, keep: list[int], cells: list[_Cell], pg: np.ndarray, first: np.ndarray
    ) -> tuple[float, np.ndarray]:
        """Cohort-size weighted mean of cells ``keep`` and its influence function."""
        weights = pg[keep] / pg[keep].sum()
        att = np.array([cells[k].att for k in keep])
        psi = np.column_stack([cells[k].psi for k in keep]) @ weights
        psi = psi + _weights_if(keep, cells, pg, first) @ att
        return float(weights @ att), psi


def zero_se_floor(matrix: np.ndarray) -> float:
    """A standard error at most this is rounding (or none: one treated against one comparison
    unit): ``ZERO_SE`` x the outcome's variation (its largest distance from its mean), and at
    least 1e-4 of that fraction of its largest magnitude, whose rounding every difference
    carries. The variation, not the level: an outcome shifted by 1e10 has the same estimates
    and standard errors, and a floor of 1e-10 x its level (1.0) erased all of them (a probe)."""
    finite = matrix[np.isfinite(matrix)]
    if not finite.size:
        return np.finfo(float).tiny
    variation = float(np.abs(finite - finite.mean()).max())
    level = float(np.abs(finite).max())
    return ZERO_SE * max(variation, 1e-4 * level, np.finfo(float).tiny)


def callaway_santanna(
    panel: pd.DataFrame,
    control_group: str = "never_treated",
    base_period: str = "varying",
    alpha: float = 0.05,
    bootstrap: int = 0,
    seed: int = 0,
) -> DidResult:
    """Group-time ATTs and their aggregations (see the module doc)."""
    if control_group not in CONTROL_GROUPS:
        raise PanelError(f"--control must be never_treated or not_yet_treated, got {control_group!r}")
    if base_period not in BASE_PERIODS:
        raise PanelError(f"--base-period must be varying or universal, got {base_period!r}")
    if bootstrap < 0:
        raise PanelError("--bootstrap must be 0 (analytic) or a positive number of draws")
    labels = period_labels(panel)
    first = adoption_periods(panel)
    wide = panel.pivot(index="unit", columns="period", values="y").reindex(
        columns=range(int(panel["period"].max()) + 1)
    )
    first_by_unit = first.reindex(wide.index).to_numpy(dtype=float, copy=True)
    first_by_unit[np.isnan(first_by_unit)] = np.inf
    dropped = int((first_by_unit == 0).sum())
    # a treated unit not observed in the period just before its first treated one adopted at
    # an unknown time (a gap in an unbalanced panel): it cannot be placed in a cohort
    unknown = hidden_adoption(panel, first).reindex(wide.index).to_numpy(dtype=bool)
    keep_units = (first_by_unit != 0) & ~unknown
    warnings: list[str] = []
    gaps = wide.isna().to_numpy()[keep_units].any(axis=1)
    if gaps.any():
        # each cell uses the units observed in both of its periods; R did's att_gt (panel =
        # TRUE) and csdid would drop these units instead: a probe found it said nowhere
        warnings.append(
            f"unbalanced panel: {int(gaps.sum())} unit(s) miss a period; each ATT(g,t) uses the units "
            "observed (with an outcome) in both of its periods, where R did's att_gt (panel = TRUE) "
            "and csdid drop every unit that misses one (balance the panel first to get theirs)"
        )
    matrix, first_by_unit = wide.to_numpy(dtype=float)[keep_units], first_by_unit[keep_units]
    n = len(matrix)
    if dropped:
        warnings.append(f"{dropped} unit(s) treated from the first period left out: no pre-period")
    if unknown.any():
        warnings.append(
            f"{int(unknown.sum())} treated unit(s) left out (e.g. {label(wide.index[unknown][0])!r}): not "
            "observed (with an outcome) in the period just before their first treated one, so when they "
            "adopted is unknown"
        )
    if not np.isfinite(first_by_unit).any():
        if warnings:  # the treated units were there: say why none is left
            raise PanelError(f"no treated unit is left: {'; '.join(warnings)}")
        raise PanelError("no unit is treated after the first period: no cohort to estimate")
    if control_group == "never_treated" and np.isfinite(first_by_unit).all():
        raise PanelError("no never-treated unit: use --control not_yet_treated")
    last = None
    if np.isfinite(first_by_unit).all():  # not yet treated, and no never-treated unit: R did's rule
        last = int(first_by_unit.max())
        if last == int(first_by_unit.min()):
            raise PanelError(
                f"every unit is treated from {labels[last]} and none is never treated: no comparison group"
            )
        matrix = matrix[:, :last]
        seen = ~np.isnan(matrix).all(axis=1)  # a unit observed only from `last` on is gone too
        matrix, first_by_unit, n = matrix[seen], first_by_unit[seen], int(seen.sum())
        warnings.append(
            f"no never-treated unit: the last cohort ({labels[last]}) is the comparison group only (not "
            f"estimated) and periods from {labels[last]} on are left out (as R did and csdid)"
        )
    cells = _cells(matrix, first_by_unit, control_group, base_period, labels, warnings, last)
    if not [c for c in cells if not c.reference]:
        raise PanelError("no cohort has both a pre-period and comparison units")
    sizes = {int(g): int((first_by_unit == g).sum()) for g in sorted({c.g for c in cells})}
    for g, size in sizes.items():
        if size == 1:
            warnings.append(
                f"cohort {labels[g]} has one unit: its own variance cannot be estimated, so the "
                "standard errors of its effects reflect the comparison units only (a lower bound)"
            )
    pg = np.array([sizes[c.g] / n for c in cells])
    agg = _Aggregator(n)
    post = [i for i, c in enumerate(cells) if c.t >= c.g]

    value, psi = agg.weighted(post, cells, pg, first_by_unit)
    agg.add("simple", value, psi, kind="simple")
    # by cohort
    group_values, group_psis = [], []
    for g in sizes:
        keep = [i for i in post if cells[i].g == g]
        if not keep:
            continue
        value = float(np.mean([cells[i].att for i in keep]))
        psi = np.mean([cells[i].psi for i in keep], axis=0)
        group_values.append((g, value))
        group_psis.append(psi)
        agg.add(f"group(g={labels[g]})", value, psi, kind="group", group=labels[g])
    group_pg = np.array([sizes[g] / n for g, _ in group_values])
    weights = group_pg / group_pg.sum()
    group_att = np.array([v for _, v in group_values])
    pseudo = [_Cell(g, g, g - 1, v, p) for (g, v), p in zip(group_values, group_psis, strict=True)]
    overall_psi = (
        np.column_stack(group_psis) @ weights
        + _weights_if(list(range(len(pseudo))), pseudo, group_pg, first_by_unit) @ group_att
    )
    agg.add("group_overall", float(weights @ group_att), overall_psi, kind="group_overall")
    # by event time
    events = sorted({c.t - c.g for c in cells})
    dynamic = []
    for e in events:
        keep = [i for i, c in enumerate(cells) if c.t - c.g == e]
        value, psi = agg.weighted(keep, cells, pg, first_by_unit)
        agg.add(f"event_{e}", value, psi, kind="dynamic", event=e)
        if e >= 0:
            dynamic.append((value, psi))
    agg.add(
        "dynamic_overall",
        float(np.mean([v for v, _ in dynamic])),
        np.mean([p for _, p in dynamic], axis=0),
        kind="dynamic_overall",
    )
    # by calendar period
    calendar = []
    for t in sorted({c.t for c in cells if c.t >= min(sizes)}):
        keep = [i for i in post if cells[i].t == t]
        if not keep:
            continue
        value, psi = agg.weighted(keep, cells, pg, first_by_unit)
        agg.add(f"calendar(t={labels[t]})", value, psi, kind="calendar", period=labels[t])
        calendar.append((value, psi))
    agg.add(
        "calendar_overall",
        float(np.mean([v for v, _ in calendar])),
        np.mean([p for _, p in calendar], axis=0),
        kind="calendar_overall",
    )
    for c in cells:
        agg.add(
            f"att(g={labels[c.g]},t={labels[c.t]})",
            c.att,
            c.psi,
            kind="att_gt",
            group=labels[c.g],
            period=labels[c.t],
            event=c.t - c.g,
        )

    psis = np.column_stack([row[2] for row in agg.rows])
    if bootstrap:
        rng = np.random.default_rng(seed)
        root5 = np.sqrt(5.0)
        low, high = (1 - root5) / 2, (1 + root5) / 2
        p_low = (root5 + 1) / (2 * root5)
        draws = np.where(rng.random((bootstrap, n)) < p_low, low, high)
        boot = draws @ psis / n
        q75, q25 = np.quantile(boot, [0.75, 0.25], axis=0)
        ses = (q75 - q25) / (1.3489795003921634)
    else:
        ses = np.sqrt((psis**2).sum(axis=0)) / n
    estimates: list[Estimate] = []
    references = {f"att(g={labels[c.g]},t={labels[c.t]})" for c in cells if c.reference}
    references |= {"event_-1"} if base_period == "universal" else set()
    zero = zero_se_floor(matrix)
    no_se = []
    for (name, value, _, extra), se in zip(agg.rows, ses, strict=True):
        if name in references:  # 0 by construction: no standard error
            estimates.append(Estimate(name, value, None, None, None, None, **extra))
        elif not (math.isfinite(se) and se > zero):  # nothing varies to estimate one from
            estimates.append(Estimate(name, value, None, None, None, None, **extra))
            no_se.append(name)
        else:
            estimates.append(estimate(name, value, float(se) ** 2, None, alpha, **extra))
    if no_se:
        warnings.append(
            f"no standard error for {len(no_se)} estimate(s) (e.g. {no_se[0]}): their variance is "
            "numerically zero (e.g. one treated and one comparison unit: no variation within either), "
            "so no interval or p-value; R did reports NA"
        )
    return DidResult(
        "callaway_santanna",
        int(n),
        int(matrix.shape[1]),
        int((~np.isnan(matrix)).sum()),
        None,
        estimates,
        "bootstrap" if bootstrap else "influence_function",
        details={
            "control_group": control_group,
            "base_period": base_period,
            "bootstrap_replications": bootstrap,
            "cohort_sizes": {str(labels[g]): size for g, size in sizes.items()},
            "units_treated_in_first_period_dropped": dropped,
            "units_with_unobserved_adoption_dropped": int(unknown.sum()),
            "reference_cells": [f"att(g={labels[c.g]},t={labels[c.t]})" for c in cells if c.reference],
        },
        warnings=warnings,
    )
