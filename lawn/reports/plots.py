"""The cadence reports' plots (matplotlib, Agg), each returned as PNG bytes written without
metadata, so the same data gives the same bytes."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

BLUE, GREEN, RED, GREY = "#4c72b0", "#55a868", "#c44e52", "grey"


def png(figure: plt.Figure) -> bytes:
    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png", dpi=90, metadata={"Software": None})
    plt.close(figure)
    return buffer.getvalue()


def empty(axis: plt.Axes, message: str) -> None:
    axis.text(0.5, 0.5, message, ha="center", va="center", transform=axis.transAxes, color=GREY)
    axis.set_xticks([])
    axis.set_yticks([])


def paired_bars(
    labels: list[str],
    current: list[float],
    previous: list[float],
    title: str,
    xlabel: str,
    names: tuple[str, str] = ("this period", "previous period"),
) -> bytes:
    """Horizontal bars: this period against the previous one, per label."""
    figure, axis = plt.subplots(figsize=(7, 0.45 * max(len(labels), 2) + 1.2))
    if not labels:
        empty(axis, "no data")
    else:
        y = np.arange(len(labels))[::-1]
        axis.barh(y + 0.2, current, height=0.4, color=BLUE, label=names[0])
        axis.barh(y - 0.2, previous, height=0.4, color="#a6bddb", label=names[1])
        axis.set_yticks(y, labels, fontsize=8)
        axis.set_xlabel(xlabel, fontsize=8)
        axis.legend(fontsize=7)
    axis.set_title(title, fontsize=10)
    return png(figure)


def lines(
    frame: pd.DataFrame, x: str, columns: list[str], title: str, target: float | None = None, ylabel: str = ""
) -> bytes:
    figure, axis = plt.subplots(figsize=(7, 3))
    if frame.empty:
        empty(axis, "no data")
    else:
        dates = pd.to_datetime(frame[x])
        for column in columns:
            axis.plot(dates, frame[column].astype(float), marker=".", label=column.replace("_", " "))
        if target is not None:
            axis.axhline(target, color=GREY, linestyle="--", linewidth=1, label=f"target {target}")
        axis.set_ylabel(ylabel, fontsize=8)
        axis.legend(fontsize=7)
        figure.autofmt_xdate()
    axis.set_title(title, fontsize=10)
    return png(figure)


def slo_history(history: pd.DataFrame, title: str) -> bytes:
    ids = list(dict.fromkeys(history["slo_id"]))
    figure, axes = plt.subplots(max(len(ids), 1), 1, figsize=(7, 1.8 * max(len(ids), 1) + 0.4), squeeze=False)
    if not ids:
        empty(axes[0][0], "no SLO evaluated in the period")
    for axis, slo_id in zip(axes[:, 0], ids, strict=False):
        rows = history[history["slo_id"] == slo_id]
        dates = pd.to_datetime(rows["evaluated_date"])
        axis.plot(dates, rows["metric_value"].astype(float), color=BLUE)
        axis.plot(dates, rows["threshold"].astype(float), color=GREY, linestyle="--", linewidth=1)
        breach = (rows["status"] == "breach").to_numpy()
        axis.scatter(dates[breach], rows["metric_value"].astype(float)[breach], color=RED, zorder=3, s=10)
        axis.set_title(f"{slo_id} ({int(breach.sum())} breach days)", fontsize=8)
        axis.tick_params(labelsize=7)
    axes[0][0].figure.suptitle(title, fontsize=10)
    figure.autofmt_xdate()
    return png(figure)


def timeline(frame: pd.DataFrame, as_of: object, title: str) -> bytes:
    """One bar per row from start_date to end_date, the as-of day as a vertical line."""
    figure, axis = plt.subplots(figsize=(7, 0.5 * max(len(frame), 2) + 1.2))
    if frame.empty:
        empty(axis, "nothing registered")
    else:
        starts, ends = pd.to_datetime(frame["start_date"]), pd.to_datetime(frame["end_date"])
        y = np.arange(len(frame))[::-1]
        axis.barh(y, (ends - starts).dt.days + 1, left=starts, color=BLUE, height=0.5)
        axis.axvline(pd.Timestamp(as_of), color=RED, linewidth=1, label="as-of day")
        axis.set_yticks(y, frame["experiment_id"], fontsize=8)
        axis.legend(fontsize=7)
        figure.autofmt_xdate()
    axis.set_title(title, fontsize=10)
    return png(figure)


def signed_bars(
    labels: list[str],
    values: list[float],
    flagged: list[bool],
    threshold: float | None,
    title: str,
    xlabel: str,
) -> bytes:
    figure, axis = plt.subplots(figsize=(7, 0.3 * max(len(labels), 3) + 1.2))
    if not labels:
        empty(axis, "no checks in the period")
    else:
        axis.barh(labels[::-1], values[::-1], color=[RED if f else BLUE for f in flagged[::-1]])
        if threshold is not None:
            axis.axvline(threshold, color=GREY, linestyle="--", linewidth=1)
        axis.tick_params(axis="y", labelsize=7)
        axis.set_xlabel(xlabel, fontsize=8)
    axis.set_title(title, fontsize=10)
    return png(figure)


def estimates(frame: pd.DataFrame, x: str, title: str, xlabel: str) -> bytes:
    """Point estimates with 95% intervals against an axis (event time, cohort ...)."""
    figure, axis = plt.subplots(figsize=(7, 3))
    if frame.empty:
        empty(axis, "nothing to estimate")
    else:
        values = frame["estimate"].to_numpy(float)
        low, high = frame["ci_low"].to_numpy(float), frame["ci_high"].to_numpy(float)
        axis.errorbar(frame[x], values, yerr=[values - low, high - values], fmt="o", capsize=3, color=BLUE)
        axis.axhline(0, color=GREY, linewidth=1)
        axis.set_xlabel(xlabel, fontsize=8)
    axis.set_title(title, fontsize=10)
    return png(figure)


def status_strip(history: pd.DataFrame, title: str) -> bytes:
    """SLO status per day: green pass, red breach, grey too little data."""
    ids = list(dict.fromkeys(history["slo_id"]))
    figure, axis = plt.subplots(figsize=(7, 0.5 * max(len(ids), 2) + 1.2))
    if not ids:
        empty(axis, "no SLO evaluated in the period")
    else:
        colours = {"pass": GREEN, "breach": RED}
        for y, slo_id in enumerate(ids[::-1]):
            rows = history[history["slo_id"] == slo_id]
            dates = pd.to_datetime(rows["evaluated_date"])
            axis.bar(
                dates,
                0.8,
                bottom=y - 0.4,
                width=1.0,
                color=[colours.get(s, "#cccccc") for s in rows["status"]],
            )
        axis.set_yticks(range(len(ids)), ids[::-1], fontsize=8)
        figure.autofmt_xdate()
    axis.set_title(title, fontsize=10)
    return png(figure)
