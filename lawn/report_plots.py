"""The nightly report's plots (matplotlib, Agg), each returned as PNG bytes."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

MOVEMENT_ORDER = ("existing", "new", "reactivation", "expansion", "contraction", "churn")


def _png(figure: plt.Figure) -> bytes:
    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png", dpi=100)
    plt.close(figure)
    return buffer.getvalue()


def _empty(axis: plt.Axes, message: str) -> None:
    axis.text(0.5, 0.5, message, ha="center", va="center", transform=axis.transAxes, color="grey")
    axis.set_xticks([])
    axis.set_yticks([])


def funnel(frame: pd.DataFrame) -> bytes:
    figure, axis = plt.subplots(figsize=(7, 3.2))
    if frame.empty:
        _empty(axis, "no funnel data")
    else:
        axis.barh(frame["step_name"][::-1], frame["accounts"][::-1], color="#4c72b0")
        for y, value in enumerate(frame["accounts"][::-1]):
            axis.text(value, y, f" {int(value)}", va="center")
        axis.set_xlabel("accounts reaching the step (all cohorts)")
    axis.set_title("Funnel")
    return _png(figure)


def retention_heatmap(frame: pd.DataFrame) -> bytes:
    figure, axis = plt.subplots(figsize=(7, 4))
    if frame.empty:
        _empty(axis, "no complete retention periods")
    else:
        grid = frame.pivot(index="cohort_start", columns="period_number", values="retention_rate")
        image = axis.imshow(grid.to_numpy(dtype=float), aspect="auto", cmap="viridis", vmin=0, vmax=1)
        axis.set_yticks(range(len(grid.index)), [str(day)[:10] for day in grid.index], fontsize=7)
        axis.set_xticks(range(len(grid.columns)), grid.columns)
        axis.set_xlabel("weeks since signup")
        figure.colorbar(image, ax=axis, label="retained share")
    axis.set_title("Account retention by signup cohort (weekly)")
    return _png(figure)


def mrr_waterfall(mrr: pd.DataFrame, movements: pd.DataFrame) -> bytes:
    """Start-of-period MRR, each movement type over the period, end MRR."""
    figure, axis = plt.subplots(figsize=(7, 3.5))
    if mrr.empty:
        _empty(axis, "no MRR yet")
        return _png(figure)
    totals = movements.groupby("movement_type")["movement_usd"].sum()
    steps = [(kind, float(totals.get(kind, 0.0))) for kind in MOVEMENT_ORDER]
    level, bottoms, heights = 0.0, [], []
    for _, value in steps:
        bottoms.append(level if value >= 0 else level + value)
        heights.append(abs(value))
        level += value
    labels = ["start", *[kind for kind, _ in steps], "end"]
    axis.bar(labels[0], 0.0, color="grey")
    colours = ["#55a868" if value >= 0 else "#c44e52" for _, value in steps]
    axis.bar(labels[1:-1], heights, bottom=bottoms, color=colours)
    axis.bar(labels[-1], float(mrr["mrr_usd"].iloc[-1]), color="#4c72b0")
    for x, (_, value) in enumerate(steps, start=1):
        axis.text(x, bottoms[x - 1] + heights[x - 1], f"{value:+,.0f}", ha="center", va="bottom", fontsize=8)
    axis.set_ylabel("MRR (USD)")
    first, last = (str(mrr["month_start"].iloc[i])[:7] for i in (0, -1))
    axis.set_title(f"MRR movements, {first} to {last}")
    return _png(figure)


def _interval_panel(axis: plt.Axes, rows: list[tuple], xlabel: str) -> None:
    names, estimates, low, high = zip(*rows, strict=True)
    y = np.arange(len(rows))[::-1]
    estimates, low, high = np.array(estimates), np.array(low), np.array(high)
    axis.errorbar(estimates, y, xerr=[estimates - low, high - estimates], fmt="o", capsize=3)
    axis.axvline(0, color="grey", linewidth=1)
    axis.set_yticks(y, names, fontsize=7)
    axis.set_xlabel(xlabel, fontsize=8)


def readouts(frame: pd.DataFrame, lift: pd.DataFrame) -> bytes:
    """Experiment lifts and the automation lift per rule with 95% intervals: rates (proportion
    metrics, automation outcomes) and per-unit means on separate axes, as their scales differ."""
    rates = [
        (f"{r.experiment_id} / {r.variant} / {r.metric_name}", r.absolute_lift, r.ci_low, r.ci_high)
        for r in frame.itertuples()
        if r.metric_type == "proportion"
    ] + [
        (f"automation / {r.rule_id} / {r.outcome_name}", r.lift, r.lift_ci_lower, r.lift_ci_upper)
        for r in lift.itertuples()
    ]
    means = [  # relative to the control mean: MRR and tickets per user share no scale
        (f"{r.experiment_id} / {r.variant} / {r.metric_name}", *(v / abs(r.control_estimate) for v in
                                                                 (r.absolute_lift, r.ci_low, r.ci_high)))
        for r in frame.itertuples()
        if r.metric_type != "proportion" and r.control_estimate
    ]  # fmt: skip
    panels = [
        ([row for row in rows if pd.notna(row[1]) and pd.notna(row[2])], label)
        for rows, label in (
            (rates, "difference in rate (95% interval)"),
            (means, "difference / control mean (95% interval)"),
        )
    ]
    panels = [(rows, label) for rows, label in panels if rows]
    heights = [max(len(rows), 2) for rows, _ in panels] or [2]
    figure, axes = plt.subplots(len(heights), 1, figsize=(8, 0.35 * sum(heights) + 1.5), squeeze=False,
                                gridspec_kw={"height_ratios": heights})  # fmt: skip
    if not panels:  # no readout yet, or none with an interval (e.g. no outcome in either arm)
        _empty(axes[0][0], "no readouts with an interval yet")
    else:
        for axis, (rows, label) in zip(axes[:, 0], panels, strict=True):
            _interval_panel(axis, rows, label)
    axes[0][0].set_title("Readouts vs control (experiments) and holdout (automation)", fontsize=10)
    return _png(figure)


def quality_trend(frame: pd.DataFrame, target: float = 0.98) -> bytes:
    figure, axis = plt.subplots(figsize=(7, 3))
    if frame.empty:
        _empty(axis, "no data quality rows")
    else:
        dates = pd.to_datetime(frame["received_date"])
        axis.plot(dates, frame["valid_share"], label="valid share")
        axis.plot(dates, frame["data_quality_score"], label="data quality score")
        axis.axhline(target, color="grey", linestyle="--", linewidth=1, label=f"target {target}")
        axis.legend(fontsize=8)
        figure.autofmt_xdate()
    axis.set_title("Data quality by day of receipt")
    return _png(figure)


def slo_status(history: pd.DataFrame) -> bytes:
    ids = list(dict.fromkeys(history["slo_id"]))
    figure, axes = plt.subplots(len(ids) or 1, 1, figsize=(7, 2 * max(len(ids), 1)), squeeze=False)
    if not ids:
        _empty(axes[0][0], "no SLOs evaluated")
    for axis, slo_id in zip(axes[:, 0], ids, strict=False):
        rows = history[history["slo_id"] == slo_id]
        dates = pd.to_datetime(rows["evaluated_date"])
        axis.plot(dates, rows["metric_value"], color="#4c72b0")
        axis.plot(dates, rows["threshold"], color="grey", linestyle="--", linewidth=1)
        breach = rows["status"] == "breach"
        axis.scatter(dates[breach], rows["metric_value"][breach], color="#c44e52", zorder=3, s=10)
        axis.set_title(f"SLO {slo_id} (latest: {rows['status'].iloc[-1]})", fontsize=9)
    figure.autofmt_xdate()
    return _png(figure)


def model_monitoring(frame: pd.DataFrame) -> bytes:
    figure, (left, right) = plt.subplots(1, 2, figsize=(9, 3.5))
    live = frame[~frame["is_shadow"]] if not frame.empty else frame
    psi = live[live["check_name"] == "feature_psi"] if not live.empty else live
    auc = live[(live["check_name"] == "auc") & live["metric_value"].notna()] if not live.empty else live
    if psi.empty:
        _empty(left, "no drift checks yet")
    else:
        colours = np.where(psi["is_flagged"], "#c44e52", "#4c72b0")
        left.barh(psi["subject"], psi["metric_value"], color=colours)
        left.axvline(float(psi["threshold"].iloc[0]), color="grey", linestyle="--", linewidth=1)
        left.tick_params(axis="y", labelsize=7)
    left.set_title("Feature drift (PSI, newest day)", fontsize=9)
    if auc.empty:
        _empty(right, "no scored days with known outcomes")
    else:
        labels = auc["slice_dimension"] + "=" + auc["slice_value"]
        right.barh(labels, auc["metric_value"], color=np.where(auc["is_flagged"], "#c44e52", "#55a868"))
        right.axvline(float(auc["threshold"].iloc[0]), color="grey", linestyle="--", linewidth=1)
        right.set_xlim(0, 1)
        right.tick_params(axis="y", labelsize=7)
    right.set_title("AUC by slice (known outcomes)", fontsize=9)
    return _png(figure)


def actions(frame: pd.DataFrame) -> bytes:
    figure, axis = plt.subplots(figsize=(7, 3))
    if frame.empty:
        _empty(axis, "no actions decided")
    else:
        weekly = frame.assign(week=pd.to_datetime(frame["decided_on"]).dt.to_period("W").dt.start_time)
        grid = weekly.pivot_table(index="week", columns="rule_id", values="decided", aggfunc="sum").fillna(0)
        bottom = np.zeros(len(grid))
        for rule in grid.columns:
            axis.bar(grid.index, grid[rule], bottom=bottom, width=5, label=rule)
            bottom += grid[rule].to_numpy()
        axis.legend(fontsize=7)
        axis.set_ylabel("actions decided per week")
        figure.autofmt_xdate()
    axis.set_title("Next-best actions")
    return _png(figure)
