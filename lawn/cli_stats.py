"""Statistics commands: `lawn power` (and the experiment commands built on the marts)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from lawn.cli_common import fail, out, print_json
from lawn.paths import duckdb_path


def power(
    test: Annotated[str, typer.Option(help="proportion (rates) or mean.")] = "proportion",
    baseline: Annotated[
        float | None, typer.Option(help="Control rate (proportion) or mean; or take it from --metric.")
    ] = None,
    sd: Annotated[float | None, typer.Option(help="Standard deviation of the metric (means).")] = None,
    mde: Annotated[float | None, typer.Option(help="Absolute lift to detect (solve for n or power).")] = None,
    n: Annotated[int | None, typer.Option(help="Control-arm units (solve for mde or power).")] = None,
    power_: Annotated[float, typer.Option("--power", help="Target power (1 - beta).")] = 0.8,
    alpha: Annotated[float, typer.Option(help="Significance level.")] = 0.05,
    ratio: Annotated[float, typer.Option(help="Allocation: treatment units per control unit.")] = 1.0,
    alternative: Annotated[str, typer.Option(help="two-sided, larger or smaller.")] = "two-sided",
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
    """Sample size per arm, minimum detectable effect or power of a two-arm test."""
    from lawn.metric_baselines import UnknownMetricError, metric_baseline
    from lawn.power import (
        PowerInputError,
        achieved_power,
        duration_days,
        minimum_detectable_effect,
        sample_size,
    )

    if alternative not in ("two-sided", "larger", "smaller"):
        fail(f"--alternative must be two-sided, larger or smaller, got {alternative!r}")
    source = None
    if metric:
        try:
            source = metric_baseline(db or duckdb_path(), metric)
        except (UnknownMetricError, FileNotFoundError) as exc:
            fail(str(exc))
        test = source.test
        baseline = source.baseline if baseline is None else baseline
        sd = source.sd if sd is None else sd
    if baseline is None:
        fail("give --baseline (or --metric to read it from the marts)")
    try:
        if solve_for == "n":
            if mde is None:
                fail("solving for n needs --mde")
            result = sample_size(test, baseline, mde, alpha, power_, ratio, alternative, sd)  # type: ignore[arg-type]
        elif solve_for == "mde":
            if n is None:
                fail("solving for mde needs --n (control-arm units)")
            result = minimum_detectable_effect(test, baseline, n, alpha, power_, ratio, alternative, sd)  # type: ignore[arg-type]
        elif solve_for == "power":
            if n is None or mde is None:
                fail("solving for power needs --n and --mde")
            result = achieved_power(test, baseline, mde, n, alpha, ratio, alternative, sd)  # type: ignore[arg-type]
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
        shown = f"{value:.6g}" if isinstance(value, float) else value
        out.print(f"{key:<24} {shown}")


def readout(
    experiment: Annotated[str, typer.Argument(help="experiment_id from the registry.")],
    db: Annotated[Path | None, typer.Option(help="The built warehouse.")] = None,
    tolerance: Annotated[float, typer.Option(help="Largest allowed difference from the mart.")] = 1e-6,
    sequential_relative_tau: Annotated[
        float, typer.Option(help="Must equal the dbt var of the same name.")
    ] = 0.1,
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


def did(
    unit: Annotated[str, typer.Option(help="Column identifying the unit (clusters are units).")],
    time: Annotated[str, typer.Option(help="Column of the period (dates or integers).")],
    outcome: Annotated[str, typer.Option(help="Column of the outcome.")],
    input_file: Annotated[Path | None, typer.Option("--input", help="Panel as CSV or Parquet.")] = None,
    table: Annotated[str | None, typer.Option(help="Or a warehouse table, e.g. marts.fct_mrr.")] = None,
    db: Annotated[Path | None, typer.Option(help="The warehouse (with --table).")] = None,
    group: Annotated[str | None, typer.Option(help="2x2: 0/1 column, 1 for the treated group.")] = None,
    post: Annotated[str | None, typer.Option(help="2x2: 0/1 column, 1 for the post period.")] = None,
    treat: Annotated[
        str | None, typer.Option(help="0/1 column, 1 for treated unit-periods (TWFE, event study, CS).")
    ] = None,
    leads: Annotated[int, typer.Option(help="Event study: pre-periods shown (earlier ones binned).")] = 4,
    lags: Annotated[int, typer.Option(help="Event study: post-periods shown (later ones binned).")] = 4,
    control: Annotated[str, typer.Option(help="CS comparison units: never_treated or not_yet_treated.")] = (
        "never_treated"
    ),
    bootstrap: Annotated[int, typer.Option(help="CS bootstrap replications.")] = 499,
    alpha: Annotated[float, typer.Option(help="1 - confidence level of the intervals.")] = 0.05,
    plot: Annotated[Path | None, typer.Option(help="Write the event-study plot (PNG) here.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")] = False,
) -> None:
    """Difference-in-differences on a panel: 2x2 (--group/--post), or with --treat two-way
    fixed effects, an event study with a joint pre-trend test, and Callaway & Sant'Anna."""
    import duckdb
    import pandas as pd

    from lawn.did import PanelError, did_2x2, did_twfe, event_study, prepare_panel
    from lawn.did_plot import plot_event_study
    from lawn.did_staggered import callaway_santanna

    if (input_file is None) == (table is None):
        fail("give exactly one of --input FILE or --table SCHEMA.TABLE")
    if (group is None) != (post is None):
        fail("the 2x2 design needs both --group and --post")
    if (group is None) == (treat is None):
        fail("give --group and --post (2x2) or --treat (staggered designs), not both or neither")
    try:
        if input_file is not None:
            if not input_file.exists():
                fail(f"{input_file}: no such file")
            frame = (
                pd.read_parquet(input_file) if input_file.suffix == ".parquet" else pd.read_csv(input_file)
            )
        else:
            db_path = db or duckdb_path()
            if not db_path.exists():
                fail(f"no warehouse at {db_path}: run `lawn build` first")
            with duckdb.connect(str(db_path), read_only=True) as con:
                frame = con.execute(f"select * from {table}").df()
    except (duckdb.Error, ValueError, OSError) as exc:
        fail(f"cannot read the panel: {str(exc).splitlines()[0]}")
    try:
        if group is not None:
            panel = prepare_panel(frame, unit, time, outcome, [group, post])  # type: ignore[list-item]
            panel = panel.rename(columns={group: "group", post: "post"})
            results = [did_2x2(panel, alpha)]
        else:
            panel = prepare_panel(frame, unit, time, outcome, [treat]).rename(columns={treat: "treat"})  # type: ignore[list-item]
            results = [
                did_twfe(panel, alpha),
                event_study(panel, leads, lags, alpha),
                callaway_santanna(panel, control, bootstrap, alpha),
            ]
    except (PanelError, ValueError) as exc:
        fail(str(exc))
    if plot is not None and treat is not None:
        plot_event_study([results[1], results[2]], plot)
    if as_json:
        print_json({"results": [result.to_dict() for result in results], "plot": str(plot) if plot else None})
        return
    for result in results:
        out.print(
            f"[bold]{result.design}[/]: {result.units} units, {result.periods} periods, "
            f"{result.observations} observations, {result.clusters} clusters"
        )
        if result.pre_trend_p_value is not None:
            out.print(
                f"  joint pre-trend test: F = {result.pre_trend_f:.3f}, p = {result.pre_trend_p_value:.3g}"
            )
        for estimate in result.estimates:
            if estimate.name.startswith("att_"):
                continue
            out.print(
                f"  {estimate.name:<16} {estimate.estimate:>10.4g}  se {estimate.std_error:.4g}  "
                f"CI [{estimate.ci_low:.4g}, {estimate.ci_high:.4g}]  p {estimate.p_value:.3g}"
            )
    if plot is not None:
        out.print(f"plot: {plot}")
