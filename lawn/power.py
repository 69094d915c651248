"""Sample size, minimum detectable effect and power for two-arm tests of proportions and means.

Arms: ``n1`` control units at the baseline, ``n2 = ratio * n1`` treatment units at
baseline + mde. Every figure comes from one power function solved numerically (Brent), so the
exact (fractional) n is reported beside the rounded-up one.

Proportions (``method``):
- ``cohen-h`` (default): Cohen's h = 2 asin(sqrt(p2)) - 2 asin(sqrt(p1)), normal
  approximation with standard error sqrt(1/n1 + 1/n2) (statsmodels ``NormalIndPower``);
- ``pooled``: the z-test with the pooled rate under the null and the unpooled variance under
  the alternative (R ``power.prop.test``, statsmodels ``power_proportions_2indep``):
  power = Phi((|d| - z s0) / s1), s0 = sqrt(pbar (1 - pbar) (1/n1 + 1/n2)),
  pbar = (n1 p1 + n2 p2) / (n1 + n2), s1 = sqrt(p1 q1 / n1 + p2 q2 / n2);
- ``unpooled``: the Wald z-test, s0 = s1 (the usual online calculators' formula,
  n = (z_a + z_b)^2 (p1 q1 + p2 q2 / r) / d^2).
Means: the two-sample t-test, d = delta / sd, noncentral t with n1 + n2 - 2 df
(statsmodels ``TTestIndPower``, R ``power.t.test``).

Tails (``tails``) of a two-sided test: ``both`` (default) adds the probability of rejecting
in the wrong direction (statsmodels; R's ``strict = TRUE``); ``effect`` counts only the
rejection region on the effect's side (R's default ``strict = FALSE``). The difference is
tiny unless the effect is small against its standard error.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Literal

from scipy import optimize, stats

Test = Literal["proportion", "mean"]
Alternative = Literal["two-sided", "larger", "smaller"]
METHODS = ("cohen-h", "pooled", "unpooled")
TAILS = ("both", "effect")


class PowerInputError(ValueError):
    """Inputs that cannot describe a test (a rate outside (0, 1), a negative sd, ...)."""


@dataclass(frozen=True)
class PowerResult:
    test: str
    method: str
    alternative: str
    tails: str
    alpha: float
    power: float
    baseline: float | None
    sd: float | None
    mde: float | None
    ratio: float
    n_control: int
    n_treatment: int
    n_control_exact: float | None
    n_treatment_exact: float | None
    effect_size: float | None
    tail_convention: str

    def to_dict(self) -> dict:
        return asdict(self)


def _tail_text(alternative: str, tails: str) -> str:
    if alternative != "two-sided":
        return f"one-sided ({alternative}): one rejection region"
    if tails == "both":
        return "two-sided, power counts both rejection regions (statsmodels; R strict=TRUE)"
    return "two-sided, power counts the effect's rejection region only (R default strict=FALSE)"


@dataclass(frozen=True)
class Design:
    """What the power function needs besides the sample size."""

    test: Test
    method: str
    alternative: Alternative
    tails: str
    alpha: float
    ratio: float
    baseline: float | None = None
    treated_rate: float | None = None  # proportions, pooled/unpooled
    effect: float | None = None  # h (cohen-h) or d (means); signed


def _check(design: Design, sd: float | None) -> None:
    if design.test not in ("proportion", "mean"):
        raise PowerInputError(f"test must be proportion or mean, got {design.test!r}")
    if design.method not in METHODS:
        raise PowerInputError(f"--method must be cohen-h, pooled or unpooled, got {design.method!r}")
    if design.test == "mean" and design.method != "cohen-h":
        raise PowerInputError("--method applies to proportions; a test of means is the t-test")
    if design.tails not in TAILS:
        raise PowerInputError(f"--tails must be both or effect, got {design.tails!r}")
    if design.alternative not in ("two-sided", "larger", "smaller"):
        raise PowerInputError(f"alternative must be two-sided, larger or smaller, got {design.alternative!r}")
    if design.baseline is not None and design.test == "proportion" and not 0 < design.baseline < 1:
        raise PowerInputError(f"a baseline rate must lie strictly between 0 and 1, got {design.baseline}")
    if design.test == "mean" and sd is not None and sd <= 0:
        raise PowerInputError(f"a test of means needs a positive --sd, got {sd}")
    if not 0 < design.alpha < 1:
        raise PowerInputError(f"alpha must lie in (0, 1), got {design.alpha}")
    if design.ratio <= 0:
        raise PowerInputError(
            f"the allocation ratio (treatment/control) must be positive, got {design.ratio}"
        )


def _normal_power(diff: float, s0: float, s1: float, alpha: float, alternative: str, tails: str) -> float:
    """Power of a z-test of a difference ``diff`` with null and alternative standard errors."""
    if alternative == "two-sided":
        crit = stats.norm.isf(alpha / 2)
        value = stats.norm.cdf((abs(diff) - crit * s0) / s1)
        if tails == "both":
            value += stats.norm.cdf((-abs(diff) - crit * s0) / s1)
        return float(value)
    crit = stats.norm.isf(alpha)
    signed = diff if alternative == "larger" else -diff
    return float(stats.norm.cdf((signed - crit * s0) / s1))


def _nct_tail(value: float, far: bool) -> float:
    """scipy's noncentral t returns NaN deep in a tail: 0 on the far side, 1 on the near."""
    value = float(value)
    if math.isnan(value):
        return 0.0 if far else 1.0
    return value


def power_at(design: Design, n1: float) -> float:
    """Power with ``n1`` control and ``ratio * n1`` treatment units (n1 may be fractional:
    the solver's curve)."""
    return power_of_arms(design, n1, design.ratio * n1)


def treatment_arm(n_control: int, ratio: float) -> int:
    """The treatment arm printed for ``n_control`` control units: ratio x n_control rounded up."""
    return math.ceil(n_control * ratio - 1e-9)


def _integer_arms(n_control: int, ratio: float) -> tuple[int, int]:
    """(control, treatment) units as printed; PowerInputError if an arm has fewer than 2."""
    if not ratio > 0:
        raise PowerInputError(f"the allocation ratio (treatment/control) must be positive, got {ratio}")
    n_treatment = treatment_arm(n_control, ratio)
    if n_control < 2:
        raise PowerInputError(f"--n: the control arm needs at least 2 units, got {n_control}")
    if n_treatment < 2:
        raise PowerInputError(
            f"--n {n_control} with --ratio {ratio:g} gives a treatment arm of {n_treatment} unit(s): "
            "an arm needs at least 2"
        )
    return n_control, n_treatment


def power_of_arms(design: Design, n1: float, n2: float) -> float:
    """Power with ``n1`` control and ``n2`` treatment units."""
    if design.test == "mean":
        assert design.effect is not None
        df = n1 + n2 - 2
        if df <= 0:
            return 0.0
        nc = design.effect / math.sqrt(1 / n1 + 1 / n2)
        dist = stats.nct(df, nc)
        if design.alternative == "two-sided":
            crit = stats.t.isf(design.alpha / 2, df)
            upper, lower = _nct_tail(dist.sf(crit), nc < 0), _nct_tail(dist.cdf(-crit), nc > 0)
            if design.tails == "both":
                return upper + lower
            return upper if design.effect >= 0 else lower
        crit = stats.t.isf(design.alpha, df)
        if design.alternative == "larger":
            return _nct_tail(dist.sf(crit), nc < 0)
        return _nct_tail(dist.cdf(-crit), nc > 0)
    if design.method == "cohen-h":
        assert design.effect is not None
        s = math.sqrt(1 / n1 + 1 / n2)
        return _normal_power(design.effect, s, s, design.alpha, design.alternative, design.tails)
    p1, p2 = design.baseline, design.treated_rate
    assert p1 is not None and p2 is not None
    s1 = math.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
    if design.method == "pooled":
        pbar = (n1 * p1 + n2 * p2) / (n1 + n2)
        s0 = math.sqrt(pbar * (1 - pbar) * (1 / n1 + 1 / n2))
    else:
        s0 = s1
    return _normal_power(p2 - p1, s0, s1, design.alpha, design.alternative, design.tails)


def _design(
    test: Test,
    method: str,
    alternative: Alternative,
    tails: str,
    alpha: float,
    ratio: float,
    baseline: float | None,
    mde: float | None,
    sd: float | None,
    effect_size: float | None,
) -> Design:
    """The design for a given lift (``mde``) or standardized effect (``effect_size``)."""
    base = Design(test, method, alternative, tails, alpha, ratio, baseline)
    _check(base, sd)
    if effect_size is not None:
        if mde is not None:
            raise PowerInputError("give --mde or --effect-size, not both")
        if test == "proportion" and method != "cohen-h":
            raise PowerInputError("--effect-size is Cohen's h: use it with --method cohen-h (or give --mde)")
        if effect_size == 0:
            raise PowerInputError("the effect size must not be 0")
        return Design(test, method, alternative, tails, alpha, ratio, baseline, None, effect_size)
    if mde is None:
        raise PowerInputError("give --mde (absolute lift) or --effect-size")
    if mde == 0:
        raise PowerInputError("the minimum detectable effect must not be 0")
    if baseline is None:
        raise PowerInputError("give --baseline (or --metric to read it from the marts)")
    if test == "mean":
        if sd is None:
            raise PowerInputError("a test of means needs a positive --sd")
        return Design(test, method, alternative, tails, alpha, ratio, baseline, None, mde / sd)
    p2 = baseline + mde
    if not 0 < p2 < 1:
        raise PowerInputError(f"baseline + mde = {p2} is not a rate in (0, 1)")
    h = 2 * math.asin(math.sqrt(p2)) - 2 * math.asin(math.sqrt(baseline))
    return Design(test, method, alternative, tails, alpha, ratio, baseline, p2, h)


def _oriented(design: Design) -> Design:
    """One-sided tests look for the effect in their own direction: use the lift's magnitude
    with the alternative's sign (an effect against the alternative has no power to find)."""
    if design.alternative == "two-sided" or design.effect is None:
        return design
    sign = 1.0 if design.alternative == "larger" else -1.0
    effect = sign * abs(design.effect)
    treated = design.treated_rate
    if treated is not None and design.baseline is not None:
        treated = design.baseline + sign * abs(treated - design.baseline)
        if not 0 < treated < 1:
            raise PowerInputError(
                f"--alternative {design.alternative} looks for baseline {'+' if sign > 0 else '-'} |mde| = "
                f"{treated:g}, not a rate in (0, 1)"
            )
        # h is not symmetric in the rate: the h of the oriented rate, not minus the other's
        effect = 2 * math.asin(math.sqrt(treated)) - 2 * math.asin(math.sqrt(design.baseline))
    return Design(
        design.test, design.method, design.alternative, design.tails, design.alpha, design.ratio,
        design.baseline, treated, effect,
    )  # fmt: skip


def _oriented_mde(design: Design, mde: float | None) -> float | None:
    """The lift the one-sided test looks for: ``mde``'s magnitude in the alternative's direction."""
    if mde is None or design.alternative == "two-sided":
        return mde
    return abs(mde) if design.alternative == "larger" else -abs(mde)


def _result(
    design: Design, power: float, sd: float | None, mde: float | None, n1: float, exact: float | None
) -> PowerResult:
    n_control = math.ceil(n1 - 1e-9)
    n_treatment = treatment_arm(n_control, design.ratio)
    return PowerResult(
        design.test,
        design.method if design.test == "proportion" else "t-test",
        design.alternative,
        design.tails,
        design.alpha,
        power,
        design.baseline,
        sd,
        mde,
        design.ratio,
        n_control,
        n_treatment,
        exact,
        None if exact is None else exact * design.ratio,
        design.effect,
        _tail_text(design.alternative, design.tails),
    )


def _check_power(power: float, alpha: float) -> None:
    """Target power must lie in (alpha, 1): with no data at all a test rejects with
    probability alpha, so a power at or below it asks for nothing (statsmodels returns nan)."""
    if not 0 < power < 1:
        raise PowerInputError(f"--power must lie in (0, 1), got {power}")
    if 0 < alpha < 1 and power <= alpha:
        raise PowerInputError(
            f"--power {power:g} is not above --alpha {alpha:g}: a test rejects with probability alpha "
            "even without data, so the target power must exceed alpha"
        )


def _lower_n(design: Design) -> float:
    # a t-test needs df = n1 + n2 - 2 > 0; R's power.t.test searches from n = 2
    return max(2.0, 1.0 / design.ratio + 1.0) if design.test == "mean" else 1e-6


def sample_size(
    test: Test,
    baseline: float | None,
    mde: float | None,
    alpha: float = 0.05,
    power: float = 0.8,
    ratio: float = 1.0,
    alternative: Alternative = "two-sided",
    sd: float | None = None,
    method: str = "cohen-h",
    tails: str = "both",
    effect_size: float | None = None,
) -> PowerResult:
    """Control units needed (exact and rounded up) to detect the lift with the given power."""
    _check_power(power, alpha)
    design = _oriented(
        _design(test, method, alternative, tails, alpha, ratio, baseline, mde, sd, effect_size)
    )
    low = _lower_n(design)
    high = max(4.0, 2 * low)
    while power_at(design, high) < power:  # bracket the root near the answer
        high *= 2
        if high > 1e13:
            raise PowerInputError("no sample size reaches that power (the effect is too small)")
    if power_at(design, low) >= power:
        exact = low
    else:
        exact = optimize.brentq(lambda n: power_at(design, n) - power, low, high, xtol=1e-12, rtol=1e-14)
    exact = float(exact)
    return _result(design, power, sd, _oriented_mde(design, mde), exact, exact)


def achieved_power(
    test: Test,
    baseline: float | None,
    mde: float | None,
    n_control: int,
    alpha: float = 0.05,
    ratio: float = 1.0,
    alternative: Alternative = "two-sided",
    sd: float | None = None,
    method: str = "cohen-h",
    tails: str = "both",
    effect_size: float | None = None,
) -> PowerResult:
    """Power to detect the lift with ``n_control`` control units and the treatment arm
    printed beside them (``ratio`` x as many, rounded up): the power of the arms reported."""
    design = _oriented(
        _design(test, method, alternative, tails, alpha, ratio, baseline, mde, sd, effect_size)
    )
    n1, n2 = _integer_arms(n_control, design.ratio)
    return _result(design, power_of_arms(design, n1, n2), sd, _oriented_mde(design, mde), n_control, None)


def minimum_detectable_effect(
    test: Test,
    baseline: float | None,
    n_control: int,
    alpha: float = 0.05,
    power: float = 0.8,
    ratio: float = 1.0,
    alternative: Alternative = "two-sided",
    sd: float | None = None,
    method: str = "cohen-h",
    tails: str = "both",
) -> PowerResult:
    """Smallest absolute lift (upwards, or downwards for 'smaller') detectable with the given
    power with the arms printed (``n_control`` and ``ratio`` x as many, rounded up); also the
    standardized effect (h or d). Needs --baseline (and --sd for means)."""
    _check_power(power, alpha)
    n1, n2 = _integer_arms(n_control, ratio)
    if baseline is None:
        raise PowerInputError("solving for the mde needs --baseline")
    if test == "mean" and sd is None:
        raise PowerInputError("a test of means needs a positive --sd")
    direction = -1.0 if alternative == "smaller" else 1.0
    limit = (baseline if direction < 0 else 1 - baseline) if test == "proportion" else 1e6 * (sd or 1)

    def design_for(lift: float) -> Design:
        return _design(test, method, alternative, tails, alpha, ratio, baseline, lift, sd, None)

    def gap(size: float) -> float:
        return power_of_arms(design_for(direction * size), n1, n2) - power

    low, high = limit * 1e-12, limit * (1 - 1e-12)
    if gap(high) < 0:
        raise PowerInputError("no rate in (0, 1) is far enough from the baseline at this sample size")
    size = float(optimize.brentq(gap, low, high, xtol=1e-14, rtol=1e-14))
    design = design_for(direction * size)
    return _result(design, power, sd, direction * size, n_control, None)
