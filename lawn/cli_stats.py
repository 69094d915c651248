"""Statistics commands: `lawn power` (and the experiment commands built on the marts)."""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from lawn.cli_common import bad_input, err, fail, finish, guarded, out
from lawn.paths import duckdb_path
from lawn.settings import SEQUENTIAL_RELATIVE_TAU

if TYPE_CHECKING:
    from lawn.readout import ReadoutCheck


@guarded
def power(
    test: Annotated[str, typer.Option(help="proportion (rates) or mean.")] = "proportion",
    baseline: Annotated[
        float | None, typer.Option(help="Control rate (proportion) or mean; or take it from --metric.")
    ] = None,
    sd: Annotated[float | None, typer.Option(help="Standard deviation of the metric (means).")] = None,
    mde: Annotated[float | None, typer.Option(help="Absolute lift to detect (solve for n or power).")] = None,
    effect_size: Annotated[
        float | None,
        typer.Option(help="Standardized effect instead of --mde: Cohen's h (proportions) or d (means)."),
    ] = None,
    n: Annotated[int | None, typer.Option(help="Control-arm units (solve for mde or power).")] = None,
    power_: Annotated[float, typer.Option("--power", help="Target power (1 - beta).")] = 0.8,
    alpha: Annotated[float, typer.Option(help="Significance level.")] = 0.05,
    ratio: Annotated[float, typer.Option(help="Allocation: treatment units per control unit.")] = 1.0,
    alternative: Annotated[str, typer.Option(help="two-sided, larger or smaller.")] = "two-sided",
    method: Annotated[
        str,
        typer.Option(
            help="Proportions: cohen-h (arcsine), pooled (R power.prop.test) or unpooled (Wald z-test)."
        ),
    ] = "cohen-h",
    tails: Annotated[
        str,
        typer.Option(
            help="Two-sided power: both (both rejection regions, statsmodels, R strict=TRUE) or effect "
            "(the effect's side only, R's default)."
        ),
    ] = "both",
    solve_for: Annotated[str, typer.Option(help="n (sample size), mde or power.")] = "n",
    metric: Annotated[
        str | None,
        typer.Option(
            help="Take the baseline (and sd) and daily eligible traffic from the marts: a milestone "
            "of fct_activation (first_paid_14d, user_created_invoice, ...) or mrr_per_account."
        ),
    ] = None,
    db: Annotated[Path | None, typer.Option(help="The built warehouse (for --metric).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")] = False,
) -> None:
    """Sample size per arm (exact and rounded up), minimum detectable effect or power of a
    two-arm test; the output states the tail convention."""
    from lawn.power import PowerInputError
    from lawn.power_plan import plan

    with bad_input(PowerInputError):
        payload = plan(
            test=test, baseline=baseline, sd=sd, mde=mde, effect_size=effect_size, n=n, power=power_,
            alpha=alpha, ratio=ratio, alternative=alternative, method=method, tails=tails,
            solve_for=solve_for, metric=metric, db_path=db,
        )  # fmt: skip
    finish(payload, as_json)


@guarded
def readout(
    experiment: Annotated[str, typer.Argument(help="experiment_id from the registry.")],
    db: Annotated[Path | None, typer.Option(help="The built warehouse.")] = None,
    tolerance: Annotated[float, typer.Option(help="Largest allowed difference from the mart.")] = 1e-6,
    sequential_relative_tau: Annotated[
        float, typer.Option(help="Must equal the dbt var of the same name (default: its value).")
    ] = SEQUENTIAL_RELATIVE_TAU,
    as_json: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")] = False,
) -> None:
    """Recompute an experiment's readout with statsmodels from the unit-level mart and check
    it against fct_experiment_readouts; exits 1 if any figure differs by more than --tolerance."""
    from lawn.readout import UnknownExperimentError, check_readout

    if not (math.isfinite(sequential_relative_tau) and sequential_relative_tau > 0):
        # tau 0 gave NaN intervals and a mismatch with the mart, exit 1
        fail(f"--sequential-relative-tau must be a positive number, got {sequential_relative_tau}")
    from lawn.warehouse import check_warehouse

    db_path = db or duckdb_path()
    check_warehouse(db_path, write=False, must_exist=True)  # a foreign or empty file: exit 2
    with bad_input(UnknownExperimentError), warnings.catch_warnings():
        # a rule or arm without units divides by zero inside statsmodels: its cells print '-',
        # the warning would only be noise on the user's terminal
        warnings.simplefilter("ignore", RuntimeWarning)
        check = check_readout(db_path, experiment, tolerance, sequential_relative_tau)
    finish(check.payload(), as_json, lambda: _print_readout(check), failed=not check.agrees)


EXPERIMENT_COLUMNS = ("variant", "metric", "units", "lift", "95% CI", "p", "p (BH)", "CUPED lift", "SRM p")
AUTOMATION_COLUMNS = (
    "rule",
    "outcome",
    "automated n (window over)",
    "holdout n (window over)",
    "lift",
    "95% CI",
    "p",
    "p (BH)",
    "SRM p",
)


def _print_readout(check: ReadoutCheck) -> None:
    from rich.console import Console
    from rich.measure import Measurement
    from rich.table import Table

    table = Table(title=check.title)
    automation = check.kind == "automation"
    for column in AUTOMATION_COLUMNS if automation else EXPERIMENT_COLUMNS:
        # fold, never "…": a cut "-9.72…" would read as -9.72 (it was -9.72e-05)
        table.add_column(column, overflow="fold")
    for row in check.rows.itertuples():
        table.add_row(*(_automation_cells(row) if automation else _experiment_cells(row)))
    if out.is_terminal:
        out.print(table)
    else:  # piped or redirected (80 columns by default): the table at its natural width
        width = Measurement.get(out, out.options.update(width=10_000), table).maximum
        Console(width=max(width, out.width), soft_wrap=True).print(table)
    out.print(f"agrees with {check.mart_name}" if check.agrees else "DISAGREES with the mart:")
    for problem in check.problems:
        out.print(f"  {problem}")


def _number(value: object, spec: str) -> str:
    """A figure as text; '-' for none (a rule or arm without units has no lift or p-value)."""
    return "-" if pd_isna(value) else format(value, spec)


def _interval(low: object, high: object) -> str:
    return "-" if pd_isna(low) or pd_isna(high) else f"[{low:.4g}, {high:.4g}]"


def _experiment_cells(row: Any) -> tuple[str, ...]:
    cuped = "" if pd_isna(getattr(row, "cuped_lift", None)) else f"{row.cuped_lift:.4g}"
    return (row.variant, row.metric_name, str(row.units), _number(row.absolute_lift, ".4g"),
            _interval(row.ci_low, row.ci_high), _number(row.p_value, ".3g"), _number(row.p_value_bh, ".3g"),
            cuped, _number(row.srm_p_value, ".3g"))  # fmt: skip


def _automation_cells(row: Any) -> tuple[str, ...]:
    return (row.rule_id, row.outcome_name, str(row.automated_observed), str(row.holdout_observed),
            _number(row.lift, ".4g"), _interval(row.lift_ci_lower, row.lift_ci_upper),
            _number(row.p_value, ".3g"), _number(row.p_value_bh, ".3g"),
            _number(row.srm_p_value, ".3g"))  # fmt: skip


def pd_isna(value: object) -> bool:
    import pandas as pd

    return value is None or bool(pd.isna(value))


@guarded
def did(
    unit: Annotated[str, typer.Option(help="Column identifying the unit (clusters are units).")],
    time: Annotated[
        str,
        typer.Option(help="Column of the period: integers, dates, YYYYQn or Qn YYYY (or see --time-order)."),
    ],
    outcome: Annotated[str, typer.Option(help="Column of the outcome.")],
    input_file: Annotated[Path | None, typer.Option("--input", help="Panel as CSV or Parquet.")] = None,
    table: Annotated[str | None, typer.Option(help="Or a warehouse table, e.g. marts.fct_mrr.")] = None,
    db: Annotated[Path | None, typer.Option(help="The warehouse (with --table).")] = None,
    group: Annotated[str | None, typer.Option(help="2x2: 0/1 column, 1 for the treated group.")] = None,
    post: Annotated[str | None, typer.Option(help="2x2: 0/1 column, 1 for the post period.")] = None,
    treat: Annotated[
        str | None, typer.Option(help="0/1 column, 1 for treated unit-periods (TWFE, event study, CS).")
    ] = None,
    estimator: Annotated[
        str,
        typer.Option(help="With --treat: all, or a comma list of twfe, event-study, cs (each runs alone)."),
    ] = "all",
    se: Annotated[
        str, typer.Option(help="Regression SEs: iid, hc1 or cluster (by unit, fixest CRV1).")
    ] = "cluster",
    time_order: Annotated[
        str | None, typer.Option(help="Numeric column giving each period's position (overrides parsing).")
    ] = None,
    leads: Annotated[int, typer.Option(help="Event study: pre-periods shown (earlier ones binned).")] = 4,
    lags: Annotated[int, typer.Option(help="Event study: post-periods shown (later ones binned).")] = 4,
    control: Annotated[str, typer.Option(help="CS comparison units: never_treated or not_yet_treated.")] = (
        "never_treated"
    ),
    base_period: Annotated[
        str, typer.Option(help="CS pre-period cells: varying (t-1, R did's default) or universal (g-1).")
    ] = "varying",
    bootstrap: Annotated[
        int, typer.Option(help="CS: 0 = analytic influence-function SEs; N = multiplier bootstrap draws.")
    ] = 0,
    seed: Annotated[int, typer.Option(help="Seed of the CS multiplier bootstrap.")] = 0,
    alpha: Annotated[float, typer.Option(help="1 - confidence level of the intervals.")] = 0.05,
    plot: Annotated[
        Path | None,
        typer.Option(help="Write the event-study plot here (.png, .svg or .pdf; no suffix: .png)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")] = False,
) -> None:
    """Difference-in-differences on a panel: 2x2 (--group/--post), or with --treat two-way
    fixed effects, an event study with a joint pre-trend test, and Callaway & Sant'Anna."""
    from lawn.did import PanelError
    from lawn.did_run import run_did

    with bad_input(PanelError):
        run = run_did(
            unit=unit, time=time, outcome=outcome, input_file=input_file, table=table, db_path=db,
            group=group, post=post, treat=treat, estimator=estimator, se=se, time_order=time_order,
            leads=leads, lags=lags, control=control, base_period=base_period, bootstrap=bootstrap,
            seed=seed, alpha=alpha, plot=plot,
        )  # fmt: skip
    finish(run.payload(), as_json, lambda: _print_did(run.results, run.errors, run.plotted))


def _print_did(results: list, errors: dict[str, str], plotted: str | None) -> None:
    def number(value: float | None, spec: str) -> str:
        return "-" if value is None else format(value, spec)

    for result in results:
        clusters = f", {result.clusters} clusters" if result.clusters is not None else ""
        out.print(
            f"[bold]{result.design}[/]: {result.units} units, {result.periods} periods, "
            f"{result.observations} observations{clusters}; se: {result.se_type}"
        )
        for warning in result.warnings:
            out.print(f"  [yellow]warning:[/] {warning}")
        if result.pre_trend_p_value is not None:
            leads, testable = result.details["pre_trend_leads"], result.details["pre_trend_testable"]
            rank = f", {testable} testable" if testable < leads else ""
            out.print(
                f"  joint pre-trend test ({leads} leads{rank}): F({testable}, {result.details['df']}) = "
                f"{result.pre_trend_f:.4g}, p = {result.pre_trend_p_value:.4g}",
                highlight=False,
            )
        for e in result.estimates:
            out.print(
                f"  {e.name:<28} {e.estimate:>11.6g}  se {number(e.std_error, '.6g'):<11} "
                f"CI [{number(e.ci_low, '.4g')}, {number(e.ci_high, '.4g')}]  p {number(e.p_value, '.3g')}",
                highlight=False,
            )
    for name, message in errors.items():
        err.print(f"[bold yellow]{name} failed:[/] {message}", soft_wrap=True, highlight=False)
    if plotted is not None:
        out.print(f"plot: {plotted}")
