"""Event-study plot: estimates by period relative to adoption with their intervals."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt

from lawn.did import DidResult


def plot_event_study(results: list[DidResult], path: Path) -> Path:
    """One series per result (TWFE event study, Callaway & Sant'Anna by event time)."""
    figure, axis = plt.subplots(figsize=(8, 4.5), dpi=120)
    for offset, result in zip((-0.1, 0.1), results, strict=False):
        points = sorted(
            (e.event, e)
            for e in result.estimates
            if e.kind in ("event", "dynamic") and e.event is not None and e.std_error is not None
        )
        if not points:
            continue
        x = [period + offset for period, _ in points]
        y = [e.estimate for _, e in points]
        low = [e.estimate - e.ci_low for _, e in points]
        high = [e.ci_high - e.estimate for _, e in points]
        axis.errorbar(x, y, yerr=[low, high], fmt="o", capsize=3, label=result.design.replace("_", " "))
    axis.axhline(0, color="grey", linewidth=0.8)
    axis.axvline(-0.5, color="grey", linestyle="--", linewidth=0.8)
    axis.set_xlabel("periods relative to adoption")
    axis.set_ylabel("effect on the outcome")
    axis.set_title("Event study (intervals at the chosen level)")
    axis.legend()
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    plt.close(figure)
    return path
