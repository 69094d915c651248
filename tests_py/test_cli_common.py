"""The shared render-and-exit block (lawn/cli_common.py: finish, bad_input, print_fields) and
the load-and-dispatch functions the thin statistics commands call (power.plan, did_run.run_did),
on hand-written inputs: what a command prints, on which stream, and with which exit code."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import statsmodels.formula.api as smf
import typer
from typer.testing import CliRunner

from lawn.cli_common import bad_input, finish, guarded, print_fields
from lawn.did import PanelError
from lawn.did_run import choose_estimators, read_panel, run_did
from lawn.power import PowerInputError, sample_size
from lawn.power_plan import plan

runner = CliRunner()


class _Disagreement(ValueError):
    pass


def _app(
    payload: object, failed: bool = False, render: bool = True, error: Exception | None = None
) -> typer.Typer:
    """A one-command app built like lawn's: a domain call inside bad_input, then finish."""
    app = typer.Typer()

    @app.command()
    @guarded
    def show(as_json: bool = typer.Option(False, "--json")) -> None:
        with bad_input(_Disagreement):
            if error is not None:
                raise error
        finish(payload, as_json, (lambda: typer.echo("rendered by hand")) if render else None, failed=failed)

    return app


def test_json_goes_to_stdout_and_exit_0():
    result = runner.invoke(_app({"a": 1, "b": [1, 2]}), ["--json"])
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {"a": 1, "b": [1, 2]}
    assert result.stderr == ""


def test_render_is_called_without_json():
    result = runner.invoke(_app({"a": 1}), [])
    assert result.exit_code == 0 and result.stdout == "rendered by hand\n"


def test_failed_check_prints_then_exits_1_in_both_modes():
    for args in ([], ["--json"]):
        result = runner.invoke(_app({"agrees": False}, failed=True), args)
        assert result.exit_code == 1, args
        assert result.stdout  # the result is still shown before the exit
    assert json.loads(runner.invoke(_app({"agrees": False}, failed=True), ["--json"]).stdout) == {
        "agrees": False
    }


def test_flat_payload_prints_aligned_fields():
    result = runner.invoke(
        _app({"n_control": 1571, "power": 0.8, "ratio": 1 / 3, "test": "x"}, render=False), []
    )
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines == [
        f"{'n_control':<24} 1571",
        f"{'power':<24} 0.8",
        f"{'ratio':<24} 0.33333333",  # 8 significant digits
        f"{'test':<24} x",
    ]


def test_unrenderable_payload_is_a_failed_step_not_a_traceback():
    result = runner.invoke(_app([1, 2], render=False), [])
    assert result.exit_code == 1
    assert "TypeError: no rendering for a list payload" in result.stderr
    assert "Traceback" not in result.output


def test_bad_input_is_one_line_exit_2_and_other_errors_exit_1():
    bad = runner.invoke(_app({}, error=_Disagreement("--x must be positive, got -1\nsecond line")), [])
    assert bad.exit_code == 2
    assert bad.stderr.startswith("error: --x must be positive, got -1")
    assert bad.stdout == ""
    other = runner.invoke(_app({}, error=KeyError("boom")), [])
    assert other.exit_code == 1
    assert other.stderr.strip() == "error: KeyError: 'boom'"


def test_print_fields_directly(capsys):
    print_fields({"x": 0.123456789123, "y": None})
    assert capsys.readouterr().out.splitlines() == [f"{'x':<24} 0.12345679", f"{'y':<24} None"]


# ---- power_plan.plan: the dispatch `lawn power` used to hold


def test_plan_solves_each_target_like_the_functions_it_dispatches_to():
    assert plan(baseline=0.45, mde=0.05) == sample_size("proportion", 0.45, 0.05).to_dict()
    by_mde = plan(baseline=0.45, n=1000, solve_for="mde")
    assert plan(baseline=0.45, n=1000, mde=by_mde["mde"], solve_for="power")["power"] == pytest.approx(
        0.8, abs=1e-6
    )


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"baseline": 0.4, "mde": 0.1, "alternative": "up"}, "--alternative must be two-sided"),
        ({"baseline": 0.4, "mde": 0.1, "method": "wald"}, "--method must be cohen-h, pooled or unpooled"),
        ({"baseline": 0.4, "mde": 0.1, "tails": "two"}, "--tails must be both or effect"),
        ({"baseline": 0.4, "mde": 0.1, "test": "ratio"}, "--test must be proportion or mean"),
        ({"mde": 0.1}, "give --baseline"),
        ({"baseline": 0.4}, "solving for n needs --mde or --effect-size"),
        ({"baseline": 0.4, "solve_for": "mde"}, "solving for mde needs --n"),
        ({"baseline": 0.4, "n": 10, "effect_size": 0.2, "solve_for": "mde"}, "takes no --effect-size"),
        ({"baseline": 0.4, "n": 10, "solve_for": "power"}, "solving for power needs --n and --mde"),
        ({"baseline": 0.4, "mde": 0.1, "solve_for": "alpha"}, "--solve-for must be n, mde or power"),
    ],
)
def test_plan_names_the_bad_option(options, message):
    with pytest.raises(PowerInputError, match=message):
        plan(**options)


def test_plan_with_a_metric_and_no_warehouse_is_bad_input(tmp_path: Path):
    with pytest.raises(PowerInputError, match="no warehouse at"):
        plan(metric="first_paid_14d", mde=0.1, db_path=tmp_path / "none.duckdb")


# ---- did_run.run_did: reading and dispatch `lawn did` used to hold


def _panel() -> pd.DataFrame:
    """A hand-written 2x2 panel: 4 units (2 treated), 2 periods, treated units gain 3 after."""
    return pd.DataFrame(
        {
            "store": ["a", "a", "b", "b", "c", "c", "d", "d"],
            "week": [1, 2] * 4,
            "sales": [10.0, 11.0, 12.0, 13.5, 9.0, 13.0, 11.0, 15.5],
            "treated_store": [0, 0, 0, 0, 1, 1, 1, 1],
            "after": [0, 1] * 4,
        }
    )


def test_run_did_reads_a_csv_and_equals_ols(tmp_path: Path):
    path = tmp_path / "panel.csv"
    _panel().to_csv(path, index=False)
    run = run_did(unit="store", time="week", outcome="sales", input_file=path, group="treated_store",
                  post="after", se="iid")  # fmt: skip
    fit = smf.ols("sales ~ treated_store * after", _panel()).fit()
    assert run.errors == {} and run.plotted is None
    assert run.results[0].estimates[0].estimate == pytest.approx(fit.params["treated_store:after"], abs=1e-12)
    assert run.payload()["results"][0]["design"] == "2x2"


def test_run_did_keeps_going_when_one_estimator_fails_and_reports_the_plot(tmp_path: Path):
    path = tmp_path / "panel.csv"
    frame = _panel().assign(treat=lambda f: f["treated_store"] * f["after"])
    frame.to_csv(path, index=False)
    run = run_did(unit="store", time="week", outcome="sales", input_file=path, treat="treat",
                  estimator="twfe", plot=tmp_path / "p.png")  # fmt: skip
    assert [r.design for r in run.results] == ["twfe"]
    assert run.errors == {"plot": "no event-study or Callaway & Sant'Anna result to plot"}
    assert not (tmp_path / "p.png").exists()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"group": "g"}, "the 2x2 design needs both --group and --post"),
        ({}, "not both or neither"),
        ({"treat": "t", "se": "robust"}, "--se must be iid, hc1 or cluster"),
        ({"treat": "t", "alpha": 0.0}, r"--alpha must lie in \(0, 1\)"),
        ({"treat": "t", "estimator": "synth"}, "--estimator must be all or a comma list"),
        ({"group": "g", "post": "p", "estimator": "cs"}, "--estimator 'cs' needs --treat"),
    ],
)
def test_run_did_names_the_bad_option(options, message):
    with pytest.raises(PanelError, match=message):
        run_did(unit="u", time="t", outcome="y", input_file=Path("/nonexistent.csv"), **options)


def test_read_panel_errors_name_the_input(tmp_path: Path):
    with pytest.raises(PanelError, match="exactly one of --input FILE or --table"):
        read_panel(None, None, None)
    with pytest.raises(PanelError, match=r"nope\.csv: no such file"):
        read_panel(tmp_path / "nope.csv", None, None)
    with pytest.raises(PanelError, match="no warehouse at"):
        read_panel(None, "marts.fct_mrr", tmp_path / "none.duckdb")
    broken = tmp_path / "broken.csv"
    broken.write_text('a,b\n1,"2\n')  # an unterminated quote, as a hand-edited export may have
    with pytest.raises(PanelError, match=r"cannot read the panel .*broken\.csv"):
        read_panel(broken, None, None)


def test_choose_estimators():
    assert choose_estimators("all", False) == ["twfe", "event-study", "cs"]
    assert choose_estimators(" cs , twfe", False) == ["cs", "twfe"]
    assert choose_estimators("all", True) == ["2x2"]


@pytest.mark.parametrize("command", ["land", "build"])
@pytest.mark.parametrize(
    ("value", "message"),
    [("{bad", "--vars: not JSON"), ("[1]", "--vars: expected a JSON object")],
)
def test_spark_vars_are_checked_before_spark_starts(command, value, message):
    from lawn.cli import app

    result = runner.invoke(app, ["spark", command, "--vars", value])
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]  # one line
    assert message in result.stderr


def test_spark_land_gives_dbt_the_builds_vars(monkeypatch, tmp_path: Path):
    """`lawn spark land --vars` hands them to its `dbt run-operation` (dbt keys its saved
    parse on the vars, so the build that follows reuses the landing's parse)."""
    import lawn.spark as spark
    from lawn.cli import app
    from lawn.raw_loader import LoadReport

    seen: dict = {}

    def fake_land(raw_dir, key, dbt_args=None):
        seen.update(dbt_args or {})
        return LoadReport()

    monkeypatch.setattr(spark, "land_raw_spark", fake_land)
    result = runner.invoke(app, ["spark", "land", "--raw-dir", str(tmp_path), "--vars", '{"x": 1}'])
    assert result.exit_code == 0, result.output
    assert seen == {"dbt_vars": {"x": 1}}


def test_an_error_no_command_foresaw_is_one_line_exit_1(monkeypatch, capsys, tmp_path: Path):
    """`lawn` (lawn.cli.main), not the typer app: the last guard turns an unforeseen error into
    one line, exit 1; LAWN_DEBUG=1 lets the traceback through."""
    import sys

    import lawn.validate_raw
    from lawn.cli import main

    def broken(raw_dir: Path, *args: object, **kwargs: object) -> list[str]:
        raise RuntimeError("a bug\nover two lines")

    monkeypatch.setattr(lawn.validate_raw, "validate_raw_dir", broken)
    monkeypatch.setattr(sys, "argv", ["lawn", "validate-raw", "--raw-dir", str(tmp_path)])
    monkeypatch.delenv("LAWN_DEBUG", raising=False)
    with pytest.raises(SystemExit) as stopped:
        main()
    assert stopped.value.code == 1
    printed = capsys.readouterr()
    lines = [line for line in printed.err.splitlines() if line.startswith("error:")]
    assert lines == [
        "error: lawn stopped on an unexpected RuntimeError: a bug over two lines"
        " (LAWN_DEBUG=1 prints the traceback)"
    ]
    assert "Traceback" not in printed.err + printed.out
    monkeypatch.setenv("LAWN_DEBUG", "1")
    with pytest.raises(RuntimeError):
        main()
