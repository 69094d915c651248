"""Statistics commands: `lawn power` (and the experiment commands built on the marts)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from lawn.cli_common import err, fail, out, print_json
from lawn.paths import duckdb_path
from lawn.settings import SEQUENTIAL_RELATIVE_TAU


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
    from lawn.metric_baselines import UnknownMetricError, metric_baseline
    from lawn.power import (
        METHODS,
        TAILS,
        PowerInputError,
        achieved_power,
        duration_days,
        minimum_detectable_effect,
        sample_size,
    )

    if alternative not in ("two-sided", "larger", "smaller"):
        fail(f"--alternative must be two-sided, larger or smaller, got {alternative!r}")
    if method not in METHODS:
        fail(f"--method must be cohen-h, pooled or unpooled, got {method!r}")
    if tails not in TAILS:
        fail(f"--tails must be both or effect, got {tails!r}")
    if test not in ("proportion", "mean"):
        fail(f"--test must be proportion or mean, got {test!r}")
    source = None
    if metric:
        try:
            source = metric_baseline(db or duckdb_path(), metric)
        except (UnknownMetricError, FileNotFoundError) as exc:
            fail(str(exc))
        test = source.test
        baseline = source.baseline if baseline is None else baseline
        sd = source.sd if sd is None else sd
    if baseline is None and effect_size is None:
        fail("give --baseline (or --metric to read it from the marts)")
    options = {"sd": sd, "method": method, "tails": tails}
    try:
        if solve_for == "n":
            if mde is None and effect_size is None:
                fail("solving for n needs --mde or --effect-size")
            result = sample_size(
                test, baseline, mde, alpha, power_, ratio, alternative, effect_size=effect_size, **options
            )  # type: ignore[arg-type]
        elif solve_for == "mde":
            if n is None:
                fail("solving for mde needs --n (control-arm units)")
            if effect_size is not None:
                fail("solving for mde takes no --effect-size")
            result = minimum_detectable_effect(
                test, baseline, n, alpha, power_, ratio, alternative, **options
            )  # type: ignore[arg-type]
        elif solve_for == "power":
            if n is None or (mde is None and effect_size is None):
                fail("solving for power needs --n and --mde (or --effect-size)")
            result = achieved_power(
                test, baseline, mde, n, alpha, ratio, alternative, effect_size=effect_size, **options
            )  # type: ignore[arg-type]
        else:
            fail(f"--solve-for must be n, mde or power, got {solve_for!r}")
    except PowerInputError as exc:
        fail(str(exc))
    payload = result.to_dict()
    if source is not None:
        payload.update(
            metric=source.metric,
            measured_on_units=source.units,
            daily_eligible_units=round(source.daily_units, 4),
            expected_duration_days=round(duration_days(result, source.daily_units), 1),
        )
    if as_json:
        print_json(payload)
        return
    for key, value in payload.items():
        shown = f"{value:.8g}" if isinstance(value, float) else value
        out.print(f"{key:<24} {shown}", highlight=False)


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
    from rich.table import Table

    from lawn.readout import (
        UnknownExperimentError,
        disagreements,
        load_inputs,
        mart_readout,
        recompute_readout,
    )

    db_path = db or duckdb_path()
    if not db_path.exists():
        fail(f"no warehouse at {db_path}: run `lawn build` first")
    from lawn.automation_readout import is_automation_holdout

    if is_automation_holdout(db_path, experiment):
        _automation_readout(db_path, experiment, tolerance, as_json)
        return
    try:
        units, registry, assignments = load_inputs(db_path, experiment)
    except UnknownExperimentError as exc:
        fail(str(exc))
    if units.empty:
        fail(f"experiment {experiment!r} has no unit with an observable metric yet")
    python = recompute_readout(units, registry, assignments, sequential_relative_tau)
    mart = mart_readout(db_path, experiment)
    problems = disagreements(mart, python, tolerance)
    if as_json:
        print_json(
            {
                "experiment_id": experiment,
                "agrees_with_mart": not problems,
                "disagreements": problems,
                "rows": python.to_dict(orient="records"),
            }
        )
    else:
        table = Table(title=f"{experiment} (primary: {registry['primary_metric']})")
        for column in ("variant", "metric", "units", "lift", "95% CI", "p", "p (BH)", "CUPED lift", "SRM p"):
            table.add_column(column)
        for row in python.itertuples():
            table.add_row(
                row.variant,
                row.metric_name,
                str(row.units),
                f"{row.absolute_lift:.4g}",
                f"[{row.ci_low:.4g}, {row.ci_high:.4g}]",
                f"{row.p_value:.3g}",
                f"{row.p_value_bh:.3g}",
                "" if pd_isna(getattr(row, "cuped_lift", None)) else f"{row.cuped_lift:.4g}",
                f"{row.srm_p_value:.3g}",
            )
        out.print(table)
        out.print("agrees with fct_experiment_readouts" if not problems else "DISAGREES with the mart:")
        for problem in problems:
            out.print(f"  {problem}")
    if problems:
        raise typer.Exit(code=1)


def _automation_readout(db_path: Path, holdout_id: str, tolerance: float, as_json: bool) -> None:
    """The automation holdout: each rule's lift recomputed with statsmodels vs fct_automation_lift."""
    from rich.table import Table

    from lawn.automation_readout import lift_disagreements, mart_lift, recompute_lift

    mart = mart_lift(db_path, holdout_id)
    python = recompute_lift(mart)
    problems = lift_disagreements(mart, python, tolerance)
    if as_json:
        rows = python.to_dict(orient="records")
        print_json({"experiment_id": holdout_id, "agrees_with_mart": not problems, "disagreements": problems,
                    "rows": rows})  # fmt: skip
    else:
        table = Table(title=f"{holdout_id}: automated vs held-out accounts, per rule (intent to treat)")
        for column in (
            "rule",
            "outcome",
            "automated n",
            "holdout n",
            "lift",
            "95% CI",
            "p",
            "p (BH)",
            "SRM p",
        ):
            table.add_column(column)
        for row in python.itertuples():
            interval = f"[{row.lift_ci_lower:.4g}, {row.lift_ci_upper:.4g}]"
            counts = (str(row.automated_observed), str(row.holdout_observed))
            stats_text = (f"{row.lift:.4g}", interval, f"{row.p_value:.3g}", f"{row.p_value_bh:.3g}",
                          f"{row.srm_p_value:.3g}")  # fmt: skip
            table.add_row(row.rule_id, row.outcome_name, *counts, *stats_text)
        out.print(table)
        out.print("agrees with fct_automation_lift" if not problems else "DISAGREES with the mart:")
        for problem in problems:
            out.print(f"  {problem}")
    if problems:
        raise typer.Exit(code=1)


def pd_isna(value: object) -> bool:
    import pandas as pd

    return value is None or bool(pd.isna(value))


DID_ESTIMATORS = ("twfe", "event-study", "cs")


def _did_estimators(value: str, two_by_two: bool) -> list[str]:
    """--estimator: all (default), or a comma list of twfe, event-study, cs (2x2 for --group/--post)."""
    if two_by_two:
        if value not in ("all", "2x2"):
            fail(f"--group/--post run the 2x2 only; --estimator {value!r} needs --treat")
        return ["2x2"]
    chosen = list(DID_ESTIMATORS) if value == "all" else [part.strip() for part in value.split(",")]
    unknown = [name for name in chosen if name not in DID_ESTIMATORS]
    if unknown or not chosen:
        fail(f"--estimator must be all or a comma list of twfe, event-study, cs; got {value!r}")
    return chosen


def _read_panel(input_file: Path | None, table: str | None, db: Path | None):  # -> pd.DataFrame
    import duckdb
    import pandas as pd

    if (input_file is None) == (table is None):
        fail("give exactly one of --input FILE or --table SCHEMA.TABLE")
    try:
        if input_file is not None:
            if not input_file.exists():
                fail(f"{input_file}: no such file")
            if input_file.suffix == ".parquet":
                return pd.read_parquet(input_file)
            return pd.read_csv(input_file)
        db_path = db or duckdb_path()
        if not db_path.exists():
            fail(f"no warehouse at {db_path}: run `lawn build` first")
        with duckdb.connect(str(db_path), read_only=True) as con:
            return con.execute(f"select * from {table}").df()
    except (duckdb.Error, ValueError, OSError, pd.errors.ParserError) as exc:
        fail(f"cannot read the panel {input_file or table}: {str(exc).splitlines()[0]}")


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
    plot: Annotated[Path | None, typer.Option(help="Write the event-study plot (PNG) here.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")] = False,
) -> None:
    """Difference-in-differences on a panel: 2x2 (--group/--post), or with --treat two-way
    fixed effects, an event study with a joint pre-trend test, and Callaway & Sant'Anna."""
    from lawn.did import SE_TYPES, PanelError, did_2x2, did_twfe, event_study, prepare_panel
    from lawn.did_staggered import BASE_PERIODS, CONTROL_GROUPS, callaway_santanna

    if (group is None) != (post is None):
        fail("the 2x2 design needs both --group and --post")
    if (group is None) == (treat is None):
        fail("give --group and --post (2x2) or --treat (staggered designs), not both or neither")
    if se not in SE_TYPES:
        fail(f"--se must be iid, hc1 or cluster, got {se!r}")
    if control not in CONTROL_GROUPS:
        fail(f"--control must be never_treated or not_yet_treated, got {control!r}")
    if base_period not in BASE_PERIODS:
        fail(f"--base-period must be varying or universal, got {base_period!r}")
    if not 0 < alpha < 1:
        fail(f"--alpha must lie in (0, 1), got {alpha}")
    chosen = _did_estimators(estimator, group is not None)
    frame = _read_panel(input_file, table, db)
    roles = {"group": group, "post": post} if group is not None else {"treat": treat}
    try:
        panel = prepare_panel(frame, unit, time, outcome, roles, time_order)  # type: ignore[arg-type]
    except PanelError as exc:
        fail(str(exc))
    except Exception as exc:  # no traceback reaches the user
        fail(f"cannot prepare the panel: {type(exc).__name__}: {exc}")
    runners = {
        "2x2": lambda: did_2x2(panel, alpha, se),
        "twfe": lambda: did_twfe(panel, alpha, se),
        "event-study": lambda: event_study(panel, leads, lags, alpha, se),
        "cs": lambda: callaway_santanna(panel, control, base_period, alpha, bootstrap, seed),
    }
    results, errors = [], {}
    for name in chosen:
        try:
            results.append(runners[name]())
        except PanelError as exc:
            errors[name] = str(exc)
        except Exception as exc:  # one failing must not lose the others
            errors[name] = f"{type(exc).__name__}: {exc}"
    if not results:
        fail("; ".join(f"{name}: {message}" for name, message in errors.items()))
    plotted = None
    if plot is not None:
        from lawn.did_plot import plot_event_study

        series = [r for r in results if r.design in ("event_study", "callaway_santanna")]
        if not series:
            errors["plot"] = "no event-study or Callaway & Sant'Anna result to plot"
        else:
            try:
                plotted = str(plot_event_study(series, plot))
            except OSError as exc:
                errors["plot"] = f"cannot write {plot}: {exc}"
    if as_json:
        print_json({"results": [r.to_dict() for r in results], "errors": errors, "plot": plotted})
        return
    _print_did(results, errors, plotted)


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
            out.print(
                f"  joint pre-trend test: F = {result.pre_trend_f:.4g}, p = {result.pre_trend_p_value:.4g}"
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
