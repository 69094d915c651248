"""A raw file corrected in place after it was landed (a billing export re-run with a fixed
amount): the loader lands raw.raw_events again in full, and the next build must rebuild the
incremental event models, or every mart keeps the old rows and the build passes (the row counts
still reconcile). The debt is recorded with the landing (lawn/rebuild_due.py) and paid by the
next successful build of everything, whichever run that is.

Feed: the hand-written billing world (tests_py/fixtures/probe_metrics). Its January event
e0005 (a_multi down to starter at $49 on 2026-01-28, received that day: months older than the
72-hour lookback of the June data) is corrected to $59. The expected MRR is restated in pandas
from the corrected file."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import duckdb
import pandas as pd
import pytest
from typer.testing import CliRunner

from lawn import rebuild_due
from lawn.cli import app
from tests_py.billing_world import billing_world, month_end_mrr

runner = CliRunner()
ORIGINAL = '""mrr_usd"": 49, ""seats"": 1'
CORRECTED = '""mrr_usd"": 59, ""seats"": 1'


def _build(raw: Path, env: dict, *extra: str):
    return runner.invoke(app, ["build", "--raw-dir", str(raw), "--no-unit-tests", *extra], env=env)


def _output(result) -> str:
    try:
        return " ".join((result.output + (result.stderr or "")).split())
    except ValueError:  # stderr not captured apart
        return " ".join(result.output.split())


def _mrr(db: str) -> dict[str, float]:
    with duckdb.connect(db, read_only=True) as con:
        rows = con.execute(
            "select cast(month_start as varchar), cast(mrr_usd as double) from marts.fct_mrr "
            "where account_id = 'a_multi' order by 1"
        ).fetchall()
    return dict(rows)


@pytest.fixture(scope="module")
def corrected(tmp_path_factory):
    """The world built once, then its events file corrected in place."""
    raw, env = billing_world(tmp_path_factory.mktemp("corrected_delivery"))
    first = _build(raw, env)
    assert first.exit_code == 0, _output(first)
    part = raw / "raw_events" / "part-0001.csv"
    text = part.read_text()
    line = next(row for row in text.splitlines() if row.startswith("e0005,"))
    assert line.count(ORIGINAL) == 1
    part.write_text(text.replace(line, line.replace(ORIGINAL, CORRECTED)))
    events = pd.read_csv(part, dtype=str, keep_default_na=False)
    return raw, env, month_end_mrr(events, "a_multi")


def test_a_corrected_file_rebuilds_the_marts_and_the_debt_outlives_a_failed_run(corrected, monkeypatch):
    raw, env, expected = corrected
    db = env["LAWN_DUCKDB_PATH"]
    # by hand: trial, $29 on 10 Jan, $79 on 20 Jan, now $59 (was $49) on 28 Jan, $99 on 3 March
    assert expected["2026-01-01"] == 59.0 and expected["2026-02-01"] == 59.0
    assert expected["2026-03-01"] == 99.0
    assert _mrr(db)["2026-01-01"] == 49.0  # as first built

    # negative control: a build that ignores the debt passes and keeps the old amount
    with monkeypatch.context() as patched:
        patched.setattr(rebuild_due, "reasons", lambda db_path: [])
        ignored = _build(raw, env)
    assert ignored.exit_code == 0, _output(ignored)
    assert "landing raw.raw_events again in full" in _output(ignored)
    assert _mrr(db)["2026-01-01"] == 49.0 != expected["2026-01-01"]

    # a build that fails (dbt stops) does not pay the debt
    with monkeypatch.context() as patched:
        patched.setattr("lawn.dbt_runner.run_dbt", lambda *a, **k: SimpleNamespace(returncode=1))
        failed = _build(raw, env)
    assert failed.exit_code == 1
    owed = rebuild_due.reasons(Path(db))
    assert len(owed) == 1 and "part-0001.csv changed since it was landed" in owed[0]

    # the next build pays it: every model rebuilt, the corrected amount in every month
    paid = _build(raw, env)
    text = _output(paid)
    assert paid.exit_code == 0, text
    assert "dbt rebuilds every model (--full-refresh)" in text
    assert _mrr(db) == expected
    assert rebuild_due.reasons(Path(db)) == []

    # and nothing is owed after that: the next build is incremental again
    again = _build(raw, env)
    assert again.exit_code == 0, _output(again)
    assert "dbt rebuilds every model" not in _output(again)
    assert _mrr(db) == expected


def test_an_erasure_relands_without_a_debt(tmp_path):
    """An erasure lands the table again too, but lawn/privacy.py applies it to every layer:
    no full rebuild is owed (a full refresh every night after one erasure would be the cost)."""
    from lawn.contract import RAW_TABLES
    from lawn.raw_deliveries import plan_table
    from lawn.raw_loader import land_raw_dir

    raw, _env = billing_world(tmp_path)
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        assert land_raw_dir(raw, con).ok
        con.execute("create table ops.erasure_tombstones (erased_at timestamp)")
        con.execute("insert into ops.erasure_tombstones values (now()::timestamp + interval 1 day)")
        plan = plan_table(raw, RAW_TABLES["raw_events"], con, "raw", incremental=True)
        assert plan.mode == "full" and not plan.stale
        (raw / "raw_events" / "part-0001.csv").write_text(
            (raw / "raw_events" / "part-0001.csv").read_text().replace(ORIGINAL, CORRECTED)
        )
        con.execute("delete from ops.erasure_tombstones")
        plan = plan_table(raw, RAW_TABLES["raw_events"], con, "raw", incremental=True)
        assert plan.mode == "full" and plan.stale


def test_the_nightly_build_pays_the_debt_only_when_dbt_succeeds(tmp_path, monkeypatch):
    """The nightly's build step: --full-refresh while a debt is recorded, cleared only after a
    successful build; a failed build (StepFailed) leaves it for the re-run."""
    from lawn import nightly_steps

    db = tmp_path / "w.duckdb"
    with duckdb.connect(str(db)) as con:
        rebuild_due.note(con, "raw_events/part-0001.csv changed since it was landed")
    seen: list[list[str]] = []

    def failing(config, args):
        seen.append(args)
        raise nightly_steps.StepFailed("dbt build failed: boom")

    config = nightly_steps.NightlyConfig(db, tmp_path / "m", tmp_path / "e", tmp_path / "r")
    monkeypatch.setattr(nightly_steps, "_dbt", failing)
    with pytest.raises(nightly_steps.StepFailed):
        nightly_steps.step_build(config, {})
    assert "--full-refresh" in seen[-1] and len(rebuild_due.reasons(db)) == 1
    monkeypatch.setattr(nightly_steps, "_dbt", lambda config, args: seen.append(args) or "Done. PASS=1")
    detail = nightly_steps.step_build(config, {})
    assert "--full-refresh" in seen[-1] and rebuild_due.reasons(db) == []
    assert detail.startswith("raw_events/part-0001.csv changed since it was landed; dbt rebuilds every model")
    nightly_steps.step_build(config, {})  # nothing owed: incremental again
    assert "--full-refresh" not in seen[-1]
