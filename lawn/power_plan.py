"""What `lawn power` runs: check the options, read a metric's baseline, sd and daily traffic
from the marts when one is named, solve lawn/power.py's power function for n, mde or power,
and add the expected duration. The formulas live in lawn/power.py; this is the planner around
them."""

from __future__ import annotations

import math
from pathlib import Path

from lawn.power import (
    METHODS,
    TAILS,
    PowerInputError,
    PowerResult,
    achieved_power,
    minimum_detectable_effect,
    sample_size,
)


def duration_days(result: PowerResult, daily_units: float) -> float:
    """Days of eligible traffic (``daily_units`` per day, split across both arms) the test needs."""
    if daily_units <= 0:
        raise PowerInputError(f"daily eligible traffic must be positive, got {daily_units}")
    return (result.n_control + result.n_treatment) / daily_units


def plan(
    *,
    test: str = "proportion",
    baseline: float | None = None,
    sd: float | None = None,
    mde: float | None = None,
    effect_size: float | None = None,
    n: int | None = None,
    power: float = 0.8,
    alpha: float = 0.05,
    ratio: float = 1.0,
    alternative: str = "two-sided",
    method: str = "cohen-h",
    tails: str = "both",
    solve_for: str = "n",
    metric: str | None = None,
    db_path: Path | None = None,
) -> dict:
    """What `lawn power` prints: validate the options, read the baseline (and sd, and daily
    eligible traffic) from the marts when ``metric`` is given, solve for n, mde or power, and
    return the result's fields (plus the metric's traffic and the expected duration).

    Every bad input raises PowerInputError with a one-line message naming the option."""
    numbers = {"--baseline": baseline, "--sd": sd, "--mde": mde, "--effect-size": effect_size,
               "--power": power, "--alpha": alpha, "--ratio": ratio}  # fmt: skip
    for option, value in numbers.items():
        if value is not None and not math.isfinite(value):
            raise PowerInputError(f"{option} must be a finite number, got {value}")
    if alternative not in ("two-sided", "larger", "smaller"):
        raise PowerInputError(f"--alternative must be two-sided, larger or smaller, got {alternative!r}")
    if method not in METHODS:
        raise PowerInputError(f"--method must be cohen-h, pooled or unpooled, got {method!r}")
    if tails not in TAILS:
        raise PowerInputError(f"--tails must be both or effect, got {tails!r}")
    if test not in ("proportion", "mean"):
        raise PowerInputError(f"--test must be proportion or mean, got {test!r}")
    source = None
    if metric:
        from lawn.metric_baselines import UnknownMetricError, metric_baseline
        from lawn.paths import duckdb_path

        try:
            source = metric_baseline(db_path or duckdb_path(), metric)
        except (UnknownMetricError, FileNotFoundError) as exc:
            raise PowerInputError(str(exc)) from exc
        test = source.test
        baseline = source.baseline if baseline is None else baseline
        sd = source.sd if sd is None else sd
    if baseline is None and effect_size is None:
        raise PowerInputError("give --baseline (or --metric to read it from the marts)")
    options = {"sd": sd, "method": method, "tails": tails}
    if solve_for == "n":
        if mde is None and effect_size is None:
            raise PowerInputError("solving for n needs --mde or --effect-size")
        if n is not None:  # it was ignored without a word
            raise PowerInputError("solving for n takes no --n (give --solve-for mde or power to use it)")
        result = sample_size(
            test, baseline, mde, alpha, power, ratio, alternative, effect_size=effect_size, **options
        )  # type: ignore[arg-type]
    elif solve_for == "mde":
        if n is None:
            raise PowerInputError("solving for mde needs --n (control-arm units)")
        if effect_size is not None:
            raise PowerInputError("solving for mde takes no --effect-size")
        result = minimum_detectable_effect(test, baseline, n, alpha, power, ratio, alternative, **options)  # type: ignore[arg-type]
    elif solve_for == "power":
        if n is None or (mde is None and effect_size is None):
            raise PowerInputError("solving for power needs --n and --mde (or --effect-size)")
        result = achieved_power(
            test, baseline, mde, n, alpha, ratio, alternative, effect_size=effect_size, **options
        )  # type: ignore[arg-type]
    else:
        raise PowerInputError(f"--solve-for must be n, mde or power, got {solve_for!r}")
    payload = result.to_dict()
    if source is not None:
        payload.update(
            metric=source.metric,
            measured_on_units=source.units,
            daily_eligible_units=round(source.daily_units, 4),
            expected_duration_days=round(duration_days(result, source.daily_units), 1),
        )
    return payload
