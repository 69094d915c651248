"""Sample size, minimum detectable effect and power for two-arm tests of proportions and means.

Proportions use Cohen's arcsine effect size h = 2 asin(sqrt(p2)) - 2 asin(sqrt(p1)) with the
normal approximation (statsmodels ``NormalIndPower``); means use the two-sample t-test with
effect size d = delta / sd (statsmodels ``TTestIndPower``). Arm sizes: ``n1`` for control,
``n2 = ratio * n1`` for treatment. Sample sizes are rounded up to whole units.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Literal

from statsmodels.stats.power import NormalIndPower, TTestIndPower
from statsmodels.stats.proportion import proportion_effectsize

Test = Literal["proportion", "mean"]
Alternative = Literal["two-sided", "larger", "smaller"]


class PowerInputError(ValueError):
    """Inputs that cannot describe a test (a rate outside (0, 1), a negative sd, ...)."""


@dataclass(frozen=True)
class PowerResult:
    test: str
    alternative: str
    alpha: float
    power: float
    baseline: float
    sd: float | None
    mde: float
    ratio: float
    n_control: int
    n_treatment: int
    effect_size: float

    def to_dict(self) -> dict:
        return asdict(self)


def _check(test: Test, baseline: float, sd: float | None, alpha: float, ratio: float) -> None:
    if test not in ("proportion", "mean"):
        raise PowerInputError(f"test must be proportion or mean, got {test!r}")
    if test == "proportion" and not 0 < baseline < 1:
        raise PowerInputError(f"a baseline rate must lie strictly between 0 and 1, got {baseline}")
    if test == "mean" and (sd is None or sd <= 0):
        raise PowerInputError(f"a test of means needs a positive --sd, got {sd}")
    if not 0 < alpha < 1:
        raise PowerInputError(f"alpha must lie in (0, 1), got {alpha}")
    if ratio <= 0:
        raise PowerInputError(f"the allocation ratio (treatment/control) must be positive, got {ratio}")


def effect_size(test: Test, baseline: float, mde: float, sd: float | None) -> float:
    """Cohen's h (proportions) or d (means) of an absolute lift ``mde`` over ``baseline``."""
    if test == "proportion":
        if not 0 < baseline + mde < 1:
            raise PowerInputError(f"baseline + mde = {baseline + mde} is not a rate in (0, 1)")
        return float(proportion_effectsize(baseline + mde, baseline))
    assert sd is not None
    return mde / sd


def _solver(test: Test) -> NormalIndPower | TTestIndPower:
    return NormalIndPower() if test == "proportion" else TTestIndPower()


def _signed(effect: float, alternative: Alternative) -> float:
    """statsmodels' one-sided 'smaller' expects a negative effect; use the lift's magnitude."""
    return -abs(effect) if alternative == "smaller" else abs(effect)


def _result(
    test: Test,
    alternative: Alternative,
    alpha: float,
    power: float,
    baseline: float,
    sd: float | None,
    mde: float,
    ratio: float,
    n_control: int,
    effect: float,
) -> PowerResult:
    """The result, with the treatment arm sized ratio x control (rounded up)."""
    n_treatment = math.ceil(n_control * ratio - 1e-9)
    return PowerResult(
        test, alternative, alpha, power, baseline, sd, mde, ratio, n_control, n_treatment, effect
    )


def sample_size(
    test: Test,
    baseline: float,
    mde: float,
    alpha: float = 0.05,
    power: float = 0.8,
    ratio: float = 1.0,
    alternative: Alternative = "two-sided",
    sd: float | None = None,
) -> PowerResult:
    """Units per arm needed to detect an absolute lift of ``mde`` with the given power."""
    _check(test, baseline, sd, alpha, ratio)
    if mde == 0:
        raise PowerInputError("the minimum detectable effect must not be 0")
    if not 0 < power < 1:
        raise PowerInputError(f"power must lie in (0, 1), got {power}")
    effect = effect_size(test, baseline, mde, sd)
    n1 = _solver(test).solve_power(
        effect_size=_signed(effect, alternative),
        alpha=alpha,
        power=power,
        ratio=ratio,
        alternative=alternative,
    )
    n_control = math.ceil(float(n1) - 1e-9)
    return _result(test, alternative, alpha, power, baseline, sd, mde, ratio, n_control, effect)


def achieved_power(
    test: Test,
    baseline: float,
    mde: float,
    n_control: int,
    alpha: float = 0.05,
    ratio: float = 1.0,
    alternative: Alternative = "two-sided",
    sd: float | None = None,
) -> PowerResult:
    """Power to detect ``mde`` with ``n_control`` control units (and ``ratio`` x as many treated)."""
    _check(test, baseline, sd, alpha, ratio)
    if n_control < 2:
        raise PowerInputError(f"an arm needs at least 2 units, got {n_control}")
    effect = effect_size(test, baseline, mde, sd)
    value = _solver(test).power(
        effect_size=_signed(effect, alternative),
        nobs1=n_control,
        alpha=alpha,
        ratio=ratio,
        alternative=alternative,
    )
    return _result(test, alternative, alpha, float(value), baseline, sd, mde, ratio, n_control, effect)


def minimum_detectable_effect(
    test: Test,
    baseline: float,
    n_control: int,
    alpha: float = 0.05,
    power: float = 0.8,
    ratio: float = 1.0,
    alternative: Alternative = "two-sided",
    sd: float | None = None,
) -> PowerResult:
    """Smallest absolute lift (upwards, or downwards for 'smaller') detectable with the given power."""
    _check(test, baseline, sd, alpha, ratio)
    if n_control < 2:
        raise PowerInputError(f"an arm needs at least 2 units, got {n_control}")
    effect = _solver(test).solve_power(
        effect_size=None, nobs1=n_control, alpha=alpha, power=power, ratio=ratio, alternative=alternative
    )
    effect = abs(float(effect))
    direction = -1.0 if alternative == "smaller" else 1.0
    if test == "mean":
        assert sd is not None
        mde = direction * effect * sd
    else:
        # invert h = 2 asin(sqrt(p1 + mde)) - 2 asin(sqrt(p1)) for mde (exact)
        target = 2 * math.asin(math.sqrt(baseline)) + direction * effect
        if not 0 <= target <= math.pi:
            raise PowerInputError("no rate in (0, 1) is far enough from the baseline at this sample size")
        mde = math.sin(target / 2) ** 2 - baseline
    return _result(test, alternative, alpha, power, baseline, sd, mde, ratio, n_control, effect)


def duration_days(result: PowerResult, daily_units: float) -> float:
    """Days of eligible traffic (``daily_units`` per day, split across both arms) the test needs."""
    if daily_units <= 0:
        raise PowerInputError(f"daily eligible traffic must be positive, got {daily_units}")
    return (result.n_control + result.n_treatment) / daily_units
