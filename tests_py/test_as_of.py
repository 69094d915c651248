"""One data day (issue 16 item 2, docs/as_of.md): marts.fct_data_day defines it, lawn/data_day.py
reads it, and `--as-of D` replays a day exactly: a build with the var on the full raw data gives
the same marts, row for row, as a build on raw files cut by hand (pandas / csv, not SQL) to what
had arrived by the end of D."""

from __future__ import annotations

import csv
import datetime as dt
import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from typer.testing import CliRunner

from lawn import cli, dbt_runner
from lawn.cli import app
from lawn.contract import RAW_EVENT_COLUMNS
from lawn.data_day import DataDayError, data_day, data_day_of, parse_as_of
from lawn.nightly import NightlyConfig
from lawn.paths import DEMO_RAW_DIR, REPO_ROOT
from tests_py.conftest import SMALL, TEST_HASH_KEY, query, run_dbt
from tests_py.expectations import parse_utc
from tests_py.fixture_feeds import RAW_TABLES

runner = CliRunner()
_spec = importlib.util.spec_from_file_location("compare_marts", REPO_ROOT / "scripts" / "compare_marts.py")
assert _spec and _spec.loader
compare_marts = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(compare_marts)

# the column that says when each raw table's row arrived (a date column: kept up to the day)
ARRIVAL = {
    "raw_events": ("received_at", False),
    "crm_accounts": ("created_at", False),
    "marketing_spend": ("spend_date", True),
    "experiment_registry": ("registered_at", False),
}
REPLAY_DAY = SMALL.start_date + dt.timedelta(days=35)
BUILD = ["build", "--exclude-resource-type", "unit_test"]  # unit tests test code, not data


def had_arrived(value: object, day: dt.date, is_date: bool) -> bool:
    """Whether a raw row with this arrival value was there at the end of ``day``, restated in
    Python: an arrival time before the next UTC midnight (ISO 8601, no offset = UTC), a date
    on or before the day; a value that cannot be read cannot be placed and is kept."""
    if is_date:
        try:
            return dt.date.fromisoformat(str(value).strip()) <= day
        except ValueError:
            return True
    moment = parse_utc(value)
    return moment is None or moment < dt.datetime.combine(day + dt.timedelta(days=1), dt.time())


def cut_frames(raw: dict[str, pd.DataFrame], day: dt.date) -> dict[str, pd.DataFrame]:
    """The raw tables as the warehouse had them at the end of ``day``."""
    cut = {}
    for table, frame in raw.items():
        column, is_date = ARRIVAL[table]
        keep = frame[column].map(lambda value, c=is_date: had_arrived(value, day, c))
        cut[table] = frame[keep.astype(bool)]
    return cut


def cut_csv_dir(source: Path, target: Path, day: dt.date) -> dict[str, tuple[int, int]]:
    """Copy a folder of raw CSV files keeping only the rows that had arrived by the end of
    ``day`` (values written back unchanged by the csv module); rows kept / rows per table."""
    target.mkdir(parents=True, exist_ok=True)
    counts = {}
    for table in RAW_TABLES:
        path = source / f"{table}.csv"
        if not path.exists():
            continue
        column, is_date = ARRIVAL[table]
        with open(path, newline="") as handle:
            rows = list(csv.reader(handle))
        at = rows[0].index(column)
        kept = [row for row in rows[1:] if had_arrived(row[at], day, is_date)]
        with open(target / path.name, "w", newline="") as handle:
            csv.writer(handle, lineterminator="\n").writerows([rows[0], *kept])
        counts[table] = (len(kept), len(rows) - 1)
    return counts


def _write_parquet(frames: dict[str, pd.DataFrame], folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for table, frame in frames.items():
        frame.astype("string").to_parquet(folder / f"{table}.parquet", index=False)
    return folder


# --- the day itself -------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["2026-02-30", "2026-13-01", "2026-7-1", "20260701", "yesterday", "", " "])
def test_a_bad_as_of_is_refused_with_its_value(text):
    with pytest.raises(DataDayError, match=r"--as-of .*not a date \(YYYY-MM-DD\)"):
        parse_as_of(text)


def test_a_good_as_of_is_that_calendar_day():
    assert parse_as_of(" 2024-02-29 ") == dt.date(2024, 2, 29)


def _warehouse(path: Path, rows: list[tuple]) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(path))
    con.execute("create schema marts")
    con.execute("create table marts.fct_data_day (data_day date, last_received_at timestamp)")
    if rows:
        con.executemany("insert into marts.fct_data_day values (?, ?)", rows)
    return con


def test_data_day_reads_the_one_row_and_refuses_none(tmp_path):
    with _warehouse(tmp_path / "one.duckdb", [(dt.date(2026, 5, 4), dt.datetime(2026, 5, 4, 23))]) as con:
        assert data_day(con) == dt.date(2026, 5, 4)
    assert data_day_of(tmp_path / "one.duckdb") == dt.date(2026, 5, 4)
    with _warehouse(tmp_path / "empty.duckdb", []) as con, pytest.raises(DataDayError, match="0 rows"):
        data_day(con)
    with _warehouse(tmp_path / "null.duckdb", [(None, None)]) as con, pytest.raises(DataDayError):
        data_day(con)
    with (
        duckdb.connect(str(tmp_path / "unbuilt.duckdb")) as con,
        pytest.raises(DataDayError, match="lawn build"),
    ):
        data_day(con)
    assert data_day_of(tmp_path / "unbuilt.duckdb") is None
    assert data_day_of(tmp_path / "missing.duckdb") is None


def test_python_reads_the_day_only_through_lawn_data_day():
    """No Python module works the day out again (the SQL the old call sites held)."""
    sources = {p.name: p.read_text() for p in (REPO_ROOT / "lawn").rglob("*.py")}
    for name, text in sources.items():
        assert "max(feature_date) from marts" not in text, name
        assert "LATEST_DAY_SQL" not in text, name
    users = {name for name, text in sources.items() if "fct_data_day" in text}
    assert users == {"data_day.py"}, users
    for name in ("nightly.py", "actions.py", "model_monitoring.py", "report_data.py"):
        assert "from lawn.data_day import" in sources[name], name


# --- --as-of reaches dbt through the one runner ------------------------------------------------


def test_the_runner_turns_as_of_into_the_var_and_a_full_refresh(tmp_path):
    day = dt.date(2026, 4, 5)
    call = dbt_runner.dbt_invocation(
        ["build"], tmp_path / "w.duckdb", dbt_vars={"srm_alpha": 0.01, "as_of_date": "1999-01-01"}, as_of=day
    )
    assert json.loads(call.command[call.command.index("--vars") + 1]) == {
        "srm_alpha": 0.01,
        "as_of_date": "2026-04-05",
    }
    assert call.command.count("--full-refresh") == 1
    assert call.command[call.command.index("--exclude-resource-type") + 1] == "unit_test"
    nightly_build = ["build", "--full-refresh", "--exclude-resource-type", "unit_test"]
    again = dbt_runner.dbt_invocation(nightly_build, None, as_of=day).command
    assert again.count("--full-refresh") == again.count("unit_test") == 1
    plain = dbt_runner.dbt_invocation(["build"], None).command
    assert "--full-refresh" not in plain and "unit_test" not in plain
    assert "--full-refresh" not in dbt_runner.dbt_invocation(["compile"], None, as_of=day).command
    assert "--vars" not in dbt_runner.dbt_invocation(["build"], None).command


@pytest.mark.parametrize("command", [["build"], ["nightly", "--dev"]])
def test_bad_as_of_on_the_cli_exits_2_with_one_line(command, tmp_path, monkeypatch):
    db = tmp_path / "untouched.duckdb"
    monkeypatch.setenv("LAWN_DUCKDB_PATH", str(db))
    result = runner.invoke(app, [*command, "--as-of", "2026-02-30"])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert lines == ["error: --as-of '2026-02-30': not a date (YYYY-MM-DD)"], result.output
    assert not db.exists()  # refused before anything was landed or built


def test_a_replayed_nightly_needs_folders_of_its_own(tmp_path, monkeypatch):
    """A replay into the live report folder replaced the live report and joined its archive,
    scored the past with the live model (trained on later data) and could send its actions:
    with --as-of every live default is refused, naming the options (exit 2, nothing built)."""
    from lawn import nightly
    from lawn.paths import EXPORT_DIR, MODEL_STORE_DIR, REPORT_DIR

    db = tmp_path / "replay.duckdb"
    ran = []
    monkeypatch.setattr(nightly, "run_nightly", lambda config, console: ran.append(config))
    replay = ["nightly", "--dev", "--as-of", "2026-06-15", "--db", str(db)]
    result = runner.invoke(app, replay)
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    text = " ".join(result.output.split())
    assert len(lines) <= 3 and text.startswith("error: --as-of replays a past day"), result.output
    for option, live in (
        ("--model-store", MODEL_STORE_DIR),
        ("--export-dir", EXPORT_DIR),
        ("--report-dir", REPORT_DIR),
    ):
        assert f"{option} ({live})" in text
    own = {"--model-store": tmp_path / "m", "--export-dir": tmp_path / "e", "--report-dir": tmp_path / "r"}
    partly = runner.invoke(app, [*replay, "--export-dir", str(own["--export-dir"])])
    assert partly.exit_code == 2 and "--export-dir" not in " ".join(partly.output.split()).split("give")[0]
    assert ran == [] and not db.exists()
    folders = [word for option, path in own.items() for word in (option, str(path))]
    allowed = runner.invoke(app, [*replay, *folders])
    assert len(ran) == 1 and ran[0].report_dir == own["--report-dir"], allowed.output
    # a live run keeps its defaults
    runner.invoke(app, ["nightly", "--dev", "--db", str(db)])
    assert len(ran) == 2 and ran[1].report_dir == REPORT_DIR


def test_build_passes_the_day_to_the_runner(tmp_path, monkeypatch):
    seen = {}

    class Done:
        returncode = 0

    def fake_run_dbt(args, db_path, **kwargs):
        seen.update(args=args, **kwargs)
        return Done()

    monkeypatch.setenv("LAWN_DUCKDB_PATH", str(tmp_path / "w.duckdb"))
    monkeypatch.setattr(dbt_runner, "run_dbt", fake_run_dbt)
    monkeypatch.setattr(cli, "_land", lambda raw_dir: None)
    result = runner.invoke(app, ["build", "--as-of", "2026-04-05"])
    assert result.exit_code == 0, result.output
    assert seen["as_of"] == dt.date(2026, 4, 5) and seen["args"] == ["build"]
    # --no-unit-tests: dbt's unit tests are left out, as the nightly leaves them out
    result = runner.invoke(app, ["build", "--no-unit-tests", "--full-refresh"])
    assert result.exit_code == 0, result.output
    assert seen["args"] == ["build", "--full-refresh", "--exclude-resource-type", "unit_test"]
    # the flag's dbt words are the nightly's (one way to leave them out)
    assert dbt_runner.dbt_invocation(seen["args"], None).command.count("unit_test") == 1


def test_nightly_passes_the_day_to_every_dbt_step(tmp_path, monkeypatch):
    from lawn import nightly, nightly_steps

    calls = []

    class Done:
        returncode = 0
        stdout = "Done. PASS=1"

    def fake_run_dbt(args, db_path, **kwargs):
        calls.append(kwargs["as_of"])
        return Done()

    monkeypatch.setattr(nightly_steps, "run_dbt", fake_run_dbt)
    config = NightlyConfig(tmp_path / "w.duckdb", tmp_path, tmp_path, tmp_path, as_of=dt.date(2026, 4, 5))
    nightly.step_build(config, {})
    assert calls == [dt.date(2026, 4, 5)]


# --- replaying a day is exact ------------------------------------------------------------------


NEXT = REPLAY_DAY + dt.timedelta(days=1)
# hand-written deliveries at the edges of the day, as a collector would stamp them:
# event id suffix -> (occurred_at, received_at, in the replay?)
EDGES = {
    "last-ms": (f"{REPLAY_DAY}T23:59:00Z", f"{REPLAY_DAY}T23:59:59.999Z", True),
    "midnight": (f"{REPLAY_DAY}T23:59:30Z", f"{NEXT}T00:00:00Z", False),
    "offset": (f"{NEXT}T01:29:00+02:00", f"{NEXT}T01:30:00+02:00", True),  # 23:30 UTC on the day
    "no-offset": (f"{REPLAY_DAY}T23:50:00Z", f"{NEXT}T00:30:00", False),  # no offset: UTC
    # broken server clocks (RECEIVED_AT_OUT_OF_RANGE): before the day is before it, kept and
    # quarantined; after it is after it, not there yet
    "year-2019": ("2019-12-31T22:00:00Z", "2019-12-31T23:00:00Z", True),
    "year-2099": (f"{REPLAY_DAY}T12:00:00Z", "2099-01-01T00:00:00Z", False),
}


def _edge_events(valid_events: pd.DataFrame) -> pd.DataFrame:
    template = valid_events[valid_events["event_name"] == "page_viewed"].iloc[0]
    rows = []
    for suffix, (occurred, received, _) in EDGES.items():
        row = template[list(RAW_EVENT_COLUMNS)].copy()
        row["event_id"], row["occurred_at"], row["received_at"] = f"edge-{suffix}", occurred, received
        rows.append(row)
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def replay(small_data, valid_events, tmp_path_factory) -> dict:
    """The small world (plus the edge deliveries) built twice: all raw rows with --as-of
    REPLAY_DAY, and the raw rows cut by hand to what had arrived by the end of REPLAY_DAY,
    without a replay."""
    work = tmp_path_factory.mktemp("as_of")
    raw = {table: small_data.raw[table] for table in RAW_TABLES if table in small_data.raw}
    raw["raw_events"] = pd.concat([raw["raw_events"], _edge_events(valid_events)], ignore_index=True)
    cut = cut_frames(raw, REPLAY_DAY)
    full_dir, cut_dir = _write_parquet(raw, work / "full"), _write_parquet(cut, work / "cut")
    replayed, rebuilt = work / "replayed.duckdb", work / "cut.duckdb"
    run_dbt(BUILD, replayed, work / "a", raw_dir=full_dir, as_of=REPLAY_DAY)
    run_dbt([*BUILD, "--full-refresh"], rebuilt, work / "b", raw_dir=cut_dir)
    return {"raw": raw, "cut": cut, "replayed": replayed, "rebuilt": rebuilt, "work": work}


def test_the_cut_is_not_trivial(replay):
    raw, cut = replay["raw"], replay["cut"]
    events = raw["raw_events"]
    received = events["received_at"].map(parse_utc)
    occurred = events["occurred_at"].map(parse_utc)
    end = dt.datetime.combine(REPLAY_DAY + dt.timedelta(days=1), dt.time())
    late = (occurred < end) & (received >= end)
    assert late.sum() > 0, "no late arrival straddles the day: the replay would prove little"
    assert 0 < len(cut["raw_events"]) < len(events)
    kept = set(cut["raw_events"]["event_id"])
    assert {suffix for suffix, edge in EDGES.items() if edge[2]} == {
        suffix for suffix in EDGES if f"edge-{suffix}" in kept
    }
    for table in ("crm_accounts", "marketing_spend"):
        assert 0 < len(cut[table]) < len(raw[table]), table


def test_a_replayed_day_equals_a_build_on_the_cut_raw_files(replay):
    assert compare_marts.compare(replay["replayed"], replay["rebuilt"], "marts", 1e-9) == []


def test_the_replayed_data_day_is_the_day_and_nothing_later_is_used(replay):
    day = query(replay["replayed"], "select * from marts.fct_data_day")
    assert len(day) == 1
    assert pd.Timestamp(day["data_day"].iloc[0]).date() == REPLAY_DAY
    assert data_day_of(replay["replayed"]) == REPLAY_DAY
    events = query(replay["replayed"], "select received_at, occurred_at from marts.fct_events")
    end = pd.Timestamp(REPLAY_DAY + dt.timedelta(days=1))
    assert (events["received_at"] < end).all()
    assert day["last_received_at"].iloc[0] == events["received_at"].max()
    assert day["data_end_at"].iloc[0] == events["occurred_at"].max()
    features = query(
        replay["replayed"], "select max(feature_date) as d from marts.fct_account_features_daily"
    )
    assert pd.Timestamp(features["d"].iloc[0]).date() == REPLAY_DAY


def test_the_edges_of_the_day_land_where_the_contract_says(replay):
    valid = set(query(replay["replayed"], "select event_id from marts.fct_events")["event_id"])
    quarantined = query(replay["replayed"], "select event_id, reason_codes from marts.fct_quarantined_events")
    quarantined = quarantined[quarantined["event_id"].fillna("").str.startswith("edge-")]
    assert {e for e in valid if e.startswith("edge-")} == {"edge-last-ms", "edge-offset"}
    assert list(quarantined["event_id"]) == ["edge-year-2019"]
    assert "RECEIVED_AT_OUT_OF_RANGE" in quarantined["reason_codes"].iloc[0]


def test_a_replay_differs_from_the_full_build(replay, built_small):
    """The comparison above can fail: the same world built on all data is another warehouse."""
    problems = compare_marts.compare(replay["replayed"], built_small, "marts", 1e-9)
    assert any(problem.startswith("marts.fct_data_day:") for problem in problems), problems
    assert len(problems) > 10


@pytest.mark.parametrize(
    "model", ["int_events_deduplicated", "fct_account_features_daily", "int_event_volumes_filled"]
)
def test_a_replay_never_runs_incrementally(replay, model):
    """On a warehouse that already holds later rows, a replay without --full-refresh stops
    (the event models' and the features' pre-hooks share the guard)."""
    result = run_dbt(
        ["run", "--select", model],
        replay["rebuilt"],
        replay["work"] / f"c_{model}",
        dbt_vars={"as_of_date": REPLAY_DAY.isoformat()},
        check=False,
    )
    assert result.returncode != 0
    # one line naming the model (dbt prints the quoted relation)
    line = rf"{model}\W*: a replay \(var as_of_date\) rebuilds from scratch: add --full-refresh"
    assert re.search(line, result.stdout), result.stdout[-3000:]


def test_a_malformed_var_stops_the_compile(replay):
    result = run_dbt(
        ["compile", "--select", "int_data_day"],
        replay["rebuilt"],
        replay["work"] / "d",
        dbt_vars={"as_of_date": "05/04/2026"},
        check=False,
    )
    assert result.returncode != 0
    assert "var as_of_date: 05/04/2026 is not a date (YYYY-MM-DD)" in result.stdout


@pytest.mark.skipif(not os.environ.get("LAWN_REPLAY_DEMO"), reason="the demo world: LAWN_REPLAY_DEMO=1")
def test_the_demo_replays_exactly(tmp_path):
    """`lawn build --as-of D` on the demo files equals `lawn build` on the files cut at D."""
    day = dt.date(2026, 6, 15)
    counts = cut_csv_dir(DEMO_RAW_DIR, tmp_path / "cut", day)
    assert counts["raw_events"][0] < counts["raw_events"][1]
    env = {**os.environ, "LAWN_IDENTITY_HASH_KEY": TEST_HASH_KEY.secret.decode()}
    lawn = str(Path(sys.executable).with_name("lawn"))
    runs = {"replayed": ["--as-of", day.isoformat()], "cut": ["--raw-dir", str(tmp_path / "cut")]}
    for name, extra in runs.items():
        env["LAWN_DUCKDB_PATH"] = str(tmp_path / f"{name}.duckdb")
        done = subprocess.run(
            [lawn, "build", "--full-refresh", *extra], env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert compare_marts.compare(tmp_path / "replayed.duckdb", tmp_path / "cut.duckdb", "marts", 1e-9) == []
