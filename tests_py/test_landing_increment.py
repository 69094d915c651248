"""Landing increments (docs/landing_increments.md): a raw table delivered as a folder of
files, one per delivery, lands only the files it has not landed yet; the result is the same
as landing every file again. Hand-written deliveries that follow the contract: the BYOD feed
(tests_py/fixtures/byod) cut by receive day into the daily files an export job would write."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import hmac
import io
import os
import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from typer.testing import CliRunner

from lawn import raw_deliveries, raw_loader
from lawn.cli import app
from lawn.contract import RAW_TABLES
from lawn.validate_raw import load_raw
from tests_py.conftest import TEST_HASH_KEY, run_dbt

BYOD = Path(__file__).parent / "fixtures" / "byod"
runner = CliRunner()

# the deliveries: rows received before the first day, on or after it and before the second, after
DAYS = (dt.date(2026, 3, 5), dt.date(2026, 3, 7))
BO = {"user_id": "u-bo", "anonymous_id": "app-bo", "device_id": "iph-bo"}  # a person erased
CY = {"user_id": "u-cy"}  # a user id erased before its events arrive


def _rows() -> tuple[list[str], list[list[str]]]:
    with open(BYOD / "raw_events.csv", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        return header, list(reader)


def _part(number: int) -> list[list[str]]:
    """Rows of delivery ``number`` (0, 1, 2) by receive day, as a collector's export cuts them."""
    header, rows = _rows()
    at = header.index("received_at")
    bounds = [dt.date.min, *DAYS, dt.date.max]
    return [row for row in rows if bounds[number] <= dt.date.fromisoformat(row[at][:10]) < bounds[number + 1]]


def _write_csv(path: Path, rows: list[list[str]]) -> None:
    header, _ = _rows()
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    path.write_text(buffer.getvalue())


def _deliver(raw: Path, number: int) -> Path:
    path = raw / "raw_events" / f"2026-03-0{5 + 2 * number}.csv"  # named by day, as an export names them
    _write_csv(path, _part(number))
    return path


def _feed(root: Path, parts: int = 1) -> Path:
    raw = root / "raw"
    for number in range(parts):
        _deliver(raw, number)
    shutil.copy(BYOD / "crm_accounts.csv", raw)
    return raw


def _raw_tables(db: Path) -> dict[str, list[tuple]]:
    with duckdb.connect(str(db), read_only=True) as con:
        return {
            name: sorted(con.execute(f"select * from raw.{name}").fetchall(), key=repr) for name in RAW_TABLES
        }


def _differences(db: Path, other: Path, relation: str) -> tuple[int, int]:
    """Rows of ``relation`` in ``db`` not in ``other`` and the reverse (EXCEPT ALL both ways)."""
    with duckdb.connect(str(db)) as con:
        con.execute(f"attach '{other}' as other (read_only)")
        ours = con.execute(
            f"select count(*) from (from {relation} except all from other.{relation})"
        ).fetchone()
        theirs = con.execute(
            f"select count(*) from (from other.{relation} except all from {relation})"
        ).fetchone()
    return ours[0], theirs[0]


def _fresh_land(raw: Path, root: Path) -> Path:
    """Every file landed at once in a new warehouse: what an increment must equal."""
    db = root / "fresh.duckdb"
    db.unlink(missing_ok=True)
    report = load_raw(raw, db)
    assert report.ok, report.errors
    return db


class Spy:
    """Records the files the loader reads and the gate checks."""

    def __init__(self, monkeypatch):
        self.read: list[str] = []
        self.gated: list[str] = []
        real_land = raw_loader._land_file

        def land_file(table, path, connection, relation, check):
            self.read.append(path.name)

            def gate(*args):
                self.gated.append(path.name)
                return check(*args)

            return real_land(table, path, connection, relation, gate if check else None)

        monkeypatch.setattr(raw_loader, "_land_file", land_file)


def _manifest(db: Path) -> pd.DataFrame:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.sql("select * from ops.raw_landing_manifest order by table_name, file_name").df()


def test_a_second_file_lands_only_its_rows_and_equals_a_full_land(tmp_path, monkeypatch):
    raw, db = _feed(tmp_path), tmp_path / "lawn.duckdb"
    assert load_raw(raw, db).ok
    second = _deliver(raw, 1)
    spy = Spy(monkeypatch)
    report = load_raw(raw, db)
    assert report.ok, report.errors
    events = {landed.table.name: landed for landed in report.tables}["raw_events"]
    assert (events.mode, events.rows) == ("append", len(_part(1)))
    assert spy.read == spy.gated == [second.name]  # crm_accounts.csv and the first day: not read again
    manifest = _manifest(db)
    events_files = manifest[manifest["table_name"] == "raw_events"]
    assert events_files["file_name"].tolist() == ["raw_events/2026-03-05.csv", "raw_events/2026-03-07.csv"]
    assert events_files["rows_read"].tolist() == [len(_part(0)), len(_part(1))]
    assert events_files["sha256"].tolist() == [
        hashlib.sha256((raw / name).read_bytes()).hexdigest() for name in events_files["file_name"]
    ]
    fresh = _fresh_land(raw, tmp_path)
    for name in RAW_TABLES:
        assert _differences(db, fresh, f"raw.{name}") == (0, 0), name


def test_nothing_new_lands_nothing_and_keeps_the_tables(tmp_path, monkeypatch):
    raw, db = _feed(tmp_path, parts=2), tmp_path / "lawn.duckdb"
    assert load_raw(raw, db).ok
    before = _raw_tables(db)
    spy = Spy(monkeypatch)
    report = load_raw(raw, db)
    assert report.ok and {landed.mode for landed in report.tables} == {"unchanged", "absent"}
    assert spy.read == [] and spy.gated == []
    assert _raw_tables(db) == before
    # an export job's marker, and a landed file touched or copied again (same bytes): still nothing
    (raw / "raw_events" / "_SUCCESS").write_text("")
    later = (raw / "raw_events" / "2026-03-05.csv").stat().st_mtime_ns + 10**9
    os.utime(raw / "raw_events" / "2026-03-05.csv", ns=(later, later))
    result = runner.invoke(app, ["load", "--raw-dir", str(raw)], env={"LAWN_DUCKDB_PATH": str(db)})
    assert result.exit_code == 0, result.output
    assert "2 file(s) landed before, unchanged" in result.stdout


@pytest.mark.parametrize("kept_fingerprint", [True, False], ids=["sha256", "negative-control-stat-only"])
def test_a_changed_old_file_forces_the_whole_table_again(tmp_path, monkeypatch, kept_fingerprint):
    """The first day's file is corrected in place: same size, same modification time (a copy
    with `cp -p`, a restore). Only its SHA-256 tells; without it (negative control: a
    fingerprint of size and time only) the loader keeps the old rows and the raw table no
    longer equals a full land of the folder."""
    raw, db = _feed(tmp_path, parts=2), tmp_path / "lawn.duckdb"
    assert load_raw(raw, db).ok
    first = raw / "raw_events" / "2026-03-05.csv"
    stat = first.stat()
    text = first.read_text()
    assert "u-ana" in text
    first.write_text(text.replace("u-ana", "u-ann"))  # same length: a fixed user id
    os.utime(first, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert first.stat().st_size == stat.st_size
    if not kept_fingerprint:
        real = raw_deliveries.fingerprint

        def stat_only(raw_dir, path):
            found = real(raw_dir, path)
            return raw_deliveries.Delivery(found.path, found.name, found.size, found.mtime_ns, "")

        monkeypatch.setattr(raw_deliveries, "fingerprint", stat_only)
        with duckdb.connect(str(db)) as con:
            con.execute("update ops.raw_landing_manifest set sha256 = ''")
    notes: list[str] = []
    report = load_raw(raw, db, notes=notes.append)
    assert report.ok, report.errors
    events = {landed.table.name: landed for landed in report.tables}["raw_events"]
    fresh = _fresh_land(raw, tmp_path)
    if kept_fingerprint:
        assert events.mode == "full" and events.rows == len(_part(0)) + len(_part(1))
        assert notes == [f"{first} changed since it was landed: landing raw.raw_events again in full"]
        assert _differences(db, fresh, "raw.raw_events") == (0, 0)
    else:  # the change is silently ignored: the table differs from a full land
        assert events.mode == "unchanged" and notes == []
        assert _differences(db, fresh, "raw.raw_events") != (0, 0)


def test_a_removed_file_forces_the_whole_table_again(tmp_path):
    raw, db = _feed(tmp_path, parts=2), tmp_path / "lawn.duckdb"
    assert load_raw(raw, db).ok
    (raw / "raw_events" / "2026-03-05.csv").unlink()
    result = runner.invoke(app, ["load", "--raw-dir", str(raw)], env={"LAWN_DUCKDB_PATH": str(db)})
    assert result.exit_code == 0, result.output
    assert "2026-03-05.csv was landed before and is gone: landing raw.raw_events again" in result.stderr
    assert _raw_tables(db)["raw_events"] == _raw_tables(_fresh_land(raw, tmp_path))["raw_events"]
    assert len(_raw_tables(db)["raw_events"]) == len(_part(1))


def test_the_single_file_form_is_kept_when_unchanged_and_landed_again_when_changed(tmp_path, monkeypatch):
    raw, db = tmp_path / "raw", tmp_path / "lawn.duckdb"
    raw.mkdir()
    shutil.copy(BYOD / "raw_events.csv", raw)
    assert load_raw(raw, db).ok
    spy = Spy(monkeypatch)
    assert {landed.mode for landed in load_raw(raw, db).tables} == {"unchanged", "absent"} and spy.read == []
    _, rows = _rows()
    _write_csv(raw / "raw_events.csv", rows[:-1])  # the export was re-run: one row fewer
    report = load_raw(raw, db)
    assert report.ok and report.tables[0].mode == "full" and report.tables[0].rows == len(rows) - 1
    assert spy.read == ["raw_events.csv"]
    with duckdb.connect(str(db)) as con:  # a row deleted by hand, not by lawn: landed again
        con.execute("delete from raw.raw_events where event_id = 'e-001'")
    notes: list[str] = []
    assert load_raw(raw, db, notes=notes.append).tables[0].mode == "full"
    assert notes == [
        f"raw.raw_events holds {len(rows) - 2:,} rows where lawn left {len(rows) - 1:,} (changed outside "
        "lawn): landing raw.raw_events again in full"
    ]


def test_a_key_repeated_across_two_files_is_refused_in_one_line(tmp_path):
    raw, db = _feed(tmp_path), tmp_path / "lawn.duckdb"
    (raw / "crm_accounts.csv").unlink()
    accounts = (BYOD / "crm_accounts.csv").read_text().splitlines()
    (raw / "crm_accounts").mkdir()
    (raw / "crm_accounts" / "2026-03-05.csv").write_text("\n".join(accounts) + "\n")
    env = {"LAWN_DUCKDB_PATH": str(db)}
    assert runner.invoke(app, ["load", "--raw-dir", str(raw)], env=env).exit_code == 0
    before = _raw_tables(db), _manifest(db)
    # the CRM export sends globex again in the next delivery (a snapshot, not an increment)
    second = raw / "crm_accounts" / "2026-03-07.csv"
    second.write_text(accounts[0] + "\n" + accounts[2] + "\n")
    _deliver(raw, 1)
    result = runner.invoke(app, ["load", "--raw-dir", str(raw)], env=env)
    assert result.exit_code == 2, result.output
    assert result.stderr.strip().splitlines() == [
        f"error: {second}: column 'account_id' repeats a value another file of {raw / 'crm_accounts'} "
        "already holds, e.g. 'globex'"
    ]
    assert "Traceback" not in result.output
    after = _raw_tables(db), _manifest(db)
    assert after[0] == before[0] and after[1].equals(before[1])  # nothing landed, the day's events neither
    # the same two files in a first load: refused the same way
    fresh = tmp_path / "fresh.duckdb"
    report = load_raw(raw, fresh)
    assert report.errors[0].startswith(f"{second}: column 'account_id' repeats a value")


def test_a_broken_new_file_stops_the_run_and_lands_nothing(tmp_path):
    raw, db = _feed(tmp_path), tmp_path / "lawn.duckdb"
    env = {"LAWN_DUCKDB_PATH": str(db)}
    assert runner.invoke(app, ["load", "--raw-dir", str(raw)], env=env).exit_code == 0
    before = _raw_tables(db), _manifest(db)
    _deliver(raw, 1)
    broken = raw / "raw_events" / "2026-03-09.csv"
    header, _ = _rows()
    at = header.index("received_at")
    bad = [[*row[:at], "yesterday", *row[at + 1 :]] for row in _part(2)]  # an export with local text
    _write_csv(broken, bad)
    result = runner.invoke(app, ["load", "--raw-dir", str(raw)], env=env)
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert (
        len(lines) == 1 and f"{broken}: column 'received_at'" in lines[0] and "Traceback" not in result.output
    )
    after = _raw_tables(db), _manifest(db)
    assert after[0] == before[0] and after[1].equals(before[1])


def test_both_forms_of_one_table_and_a_foreign_file_in_a_folder_are_refused(tmp_path):
    raw = _feed(tmp_path)
    (raw / "raw_events" / "notes.xlsx").write_bytes(b"PK")
    report = load_raw(raw, tmp_path / "lawn.duckdb")
    assert report.errors[0].startswith(
        f"{raw / 'raw_events' / 'notes.xlsx'}: unknown file type in the folder"
    )
    (raw / "raw_events" / "notes.xlsx").unlink()
    shutil.copy(BYOD / "raw_events.csv", raw)
    report = load_raw(raw, tmp_path / "lawn.duckdb")
    assert report.errors == [
        f"{raw / 'raw_events'}: table raw_events is delivered both as raw_events.csv and as a folder: "
        "keep one"
    ]


# ------------------------------------------------------------------ erasure and retention


def _install_tombstones(db: Path, values: dict[str, str]) -> None:
    """What `lawn privacy erase` leaves for the loader: the key and one tombstone per identifier
    (HMAC-SHA256 of 'type:value' under the key, computed here with Python's hmac)."""
    inner = bytes(b ^ 0x36 for b in TEST_HASH_KEY.secret.ljust(64, b"\0"))
    outer = bytes(b ^ 0x5C for b in TEST_HASH_KEY.secret.ljust(64, b"\0"))
    with duckdb.connect(str(db)) as con:
        con.execute("create schema if not exists ops")
        con.execute(
            "create table if not exists ops.identity_hash_key "
            "(key_id varchar, inner_pad_hex varchar, outer_pad_hex varchar)"
        )
        con.execute("delete from ops.identity_hash_key")
        con.execute(
            "insert into ops.identity_hash_key values (?, ?, ?)",
            [TEST_HASH_KEY.key_id, inner.hex(), outer.hex()],
        )
        con.execute(
            "create table if not exists ops.erasure_tombstones (request_id varchar, identifier_type varchar, "
            "identifier_hash varchar, key_id varchar, erased_at timestamp)"
        )
        con.execute(
            "create table if not exists ops.landing_exclusions (load_id varchar, relation_name varchar, "
            "reason varchar, rows_excluded bigint, rows_redacted bigint, cutoff_at timestamp, "
            "loaded_at timestamp)"
        )
        for kind, value in values.items():
            digest = hmac.new(TEST_HASH_KEY.secret, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()
            con.execute(
                "insert into ops.erasure_tombstones values ('r1', ?, ?, ?, ?)",
                [kind, digest, TEST_HASH_KEY.key_id, dt.datetime.now(dt.UTC).replace(tzinfo=None)],
            )


def _rows_of(parts: range, person: dict[str, str] = BO) -> int:
    """The person's deliveries in those parts (any of their ids), counted from the CSV text (pandas)."""
    header, _ = _rows()
    frame = pd.DataFrame([row for number in parts for row in _part(number)], columns=header)
    theirs = pd.concat([frame[column].eq(value) for column, value in person.items()], axis=1).any(axis=1)
    return int(theirs.sum())


def _latest_exclusions(db: Path) -> dict[str, tuple[int, int]]:
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute(
            "select reason, rows_excluded, rows_redacted from ops.landing_exclusions "
            "where loaded_at = (select max(loaded_at) from ops.landing_exclusions)"
        ).fetchall()
    return {reason: (excluded, redacted) for reason, excluded, redacted in rows}


def test_erasure_between_deliveries_withholds_the_new_files_rows_exactly(tmp_path):
    """Bo is erased after the first delivery. The next load lands in full (an erasure since);
    the third delivery is appended and Bo's rows in it are withheld; what the latest load
    records equals what landing every file again records, and the raw rows are the same."""
    raw, db = _feed(tmp_path), tmp_path / "lawn.duckdb"
    assert load_raw(raw, db).ok
    _install_tombstones(db, BO)
    _deliver(raw, 1)
    notes: list[str] = []
    report = load_raw(raw, db, notes=notes.append)
    assert (
        report.ok and "an erasure happened since the last landing: landing raw.raw_events again" in notes[0]
    )
    assert report.withheld.erased == _rows_of(range(2)) > 0
    _deliver(raw, 2)
    report = load_raw(raw, db)
    events = {landed.table.name: landed for landed in report.tables}["raw_events"]
    assert events.mode == "append" and report.withheld.erased == _rows_of(range(2, 3)) > 0
    appended = _latest_exclusions(db)
    assert appended["erased"][0] == _rows_of(range(3))  # every delivery now landed, as a full land counts
    with duckdb.connect(str(db), read_only=True) as con:
        left = con.execute(
            "select count(*) from raw.raw_events where user_id = 'u-bo' or device_id = 'iph-bo'"
        )
        assert left.fetchone()[0] == 0
    # the same warehouse, every file landed again: the same rows and the same counts
    copy = tmp_path / "again.duckdb"
    shutil.copy(db, copy)
    with duckdb.connect(str(copy)) as con:
        con.execute("delete from ops.raw_landing_manifest")
    again = load_raw(raw, copy)
    assert {landed.mode for landed in again.tables} == {"full", "absent"}
    assert _latest_exclusions(copy) == appended
    assert _differences(db, copy, "raw.raw_events") == (0, 0)
    # nothing new: the count is carried again, not reset to 0
    assert load_raw(raw, db).ok and _latest_exclusions(db) == appended


def test_rows_retention_deleted_since_the_last_landing_are_carried(tmp_path):
    """`lawn retention` deleted rows from raw.raw_events after the last landing (audited): the
    next load keeps the table (the count matches) and records them as a full land would."""
    raw, db = _feed(tmp_path, parts=2), tmp_path / "lawn.duckdb"
    assert load_raw(raw, db).ok
    _install_tombstones(db, {})
    cutoff = dt.datetime(2026, 3, 3)
    with duckdb.connect(str(db)) as con:
        deleted = con.execute(
            "select count(*) from raw.raw_events where received_at < '2026-03-03'"
        ).fetchone()[0]
        con.execute("delete from raw.raw_events where received_at < '2026-03-03'")
        con.execute(
            "create table ops.retention_audit (run_id varchar, relation_name varchar, "
            "retention_class varchar, policy_action varchar, keep_days bigint, time_column varchar, "
            "cutoff_at timestamp, rows_affected bigint, is_dry_run boolean, applied_at timestamp)"
        )
        con.execute(
            "insert into ops.retention_audit values ('r', 'raw.raw_events', 'raw_landing', 'delete', 1, "
            "'received_at', ?, ?, false, ?)",
            [cutoff, deleted, dt.datetime.now(dt.UTC).replace(tzinfo=None)],
        )
    assert deleted == 4  # e-001 .. e-004, received on 2 March
    report = load_raw(raw, db)
    assert {landed.mode for landed in report.tables} == {"unchanged", "absent"}
    assert _latest_exclusions(db)["retention"][0] == deleted


# ------------------------------------------------------------------ a dbt build on an increment


def _build(raw: Path, db: Path, work: Path) -> None:
    run_dbt(["build", "--exclude-resource-type", "unit_test"], db, work, raw_dir=raw)


def test_an_appended_build_equals_a_full_build_and_reconciles(tmp_path):
    """Day one built, day two appended and built (incremental), against both days built at once."""
    raw = _feed(tmp_path)
    db = tmp_path / "lawn.duckdb"
    _build(raw, db, tmp_path / "a")
    _deliver(raw, 1)
    _build(raw, db, tmp_path / "a")
    both = tmp_path / "both"
    shutil.copytree(raw, both / "raw")
    fresh = both / "lawn.duckdb"
    _build(both / "raw", fresh, both)
    with duckdb.connect(str(fresh), read_only=True) as con:
        relations = [
            f"{schema}.{name}"
            for schema, name in con.execute(
                "select table_schema, table_name from information_schema.tables "
                "where table_schema in ('raw', 'staging', 'intermediate', 'marts') order by 1, 2"
            ).fetchall()
        ]
        reconciled = con.execute(
            "select is_reconciled, raw_count from marts.fct_event_reconciliation"
        ).fetchone()
    assert set(COMPARED_MARTS) < set(relations) and len(relations) > 100
    differing = [
        relation
        for relation in relations
        if relation not in BUILD_STAMPED and _differences(db, fresh, relation) != (0, 0)
    ]
    assert differing == []
    with duckdb.connect(str(db), read_only=True) as con:
        found = con.execute("select is_reconciled, raw_count from marts.fct_event_reconciliation").fetchone()
    assert found == reconciled == (True, len(_part(0)) + len(_part(1)))


COMPARED_MARTS = ("marts.fct_events", "marts.fct_quarantined_events", "marts.fct_event_reconciliation")
# relations whose rows carry the build's own time or run (not the data's): not compared. The
# change log of int_events_attributed and its consumers' records of the run they consumed hold
# each build's run number (its start time) and what that run changed, so two builds of the same
# data differ there by construction (docs/incremental_attribution.md, "The change log");
# int_activity_days, int_moments_reached and int_person_event_extents themselves are compared.
BUILD_STAMPED: tuple[str, ...] = (
    "intermediate.int_activity_days__changes_consumed",
    "intermediate.int_events_attributed__changes",
    "intermediate.int_moments_reached__changes_consumed",
    "intermediate.int_person_event_extents__changes_consumed",
)


# ------------------------------------------------------------------ the warehouse health check


def _filled_warehouse(path: Path) -> int:
    with duckdb.connect(str(path)) as con:
        con.execute("create table filler as select range as n, md5(range::varchar) as s from range(300000)")
    return path.stat().st_size


def test_the_health_check_refuses_a_cut_file_at_once_and_a_damaged_block_when_asked(tmp_path, monkeypatch):
    """Truncation is found by opening the file and comparing its length with the blocks it
    counts (no data block read); a damaged block inside the file only by reading it: the
    default check lets it through (DuckDB's checksum stops the first read of it later),
    LAWN_WAREHOUSE_CHECK=full refuses it up front in one line."""
    from lawn.warehouse import DEEP_CHECK_ENV, WarehouseError, check_warehouse

    size = _filled_warehouse(tmp_path / "good.duckdb")
    cut = tmp_path / "cut.duckdb"
    shutil.copy(tmp_path / "good.duckdb", cut)
    os.truncate(cut, size - 4096)
    with pytest.raises(WarehouseError, match=f"^{cut}: not a readable DuckDB warehouse") as caught:
        check_warehouse(cut)
    assert "\n" not in str(caught.value)
    damaged = tmp_path / "damaged.duckdb"
    shutil.copy(tmp_path / "good.duckdb", damaged)
    with open(damaged, "r+b") as handle:  # 64 bytes of a data block overwritten
        handle.seek(size // 3)
        handle.write(b"\xff" * 64)
    monkeypatch.delenv(DEEP_CHECK_ENV, raising=False)
    check_warehouse(damaged)  # header, catalog and length are intact
    with duckdb.connect(str(damaged), read_only=True) as con, pytest.raises(duckdb.Error, match="checksum"):
        con.execute("select max(s) from filler").fetchall()
    monkeypatch.setenv(DEEP_CHECK_ENV, "full")
    with pytest.raises(WarehouseError, match=f"^{damaged}: not a readable DuckDB warehouse, damaged"):
        check_warehouse(damaged)
    check_warehouse(tmp_path / "good.duckdb")


def test_an_erasure_between_deliveries_reconciles_in_the_marts(tmp_path):
    """`lawn privacy erase --user-id u-cy` after the first delivery's build, before any of Cy's
    events arrived (the id comes from the product's user table): only a tombstone. The second
    delivery (Cy's rows) is landed with the table again in full (an erasure since), the third
    appended (the count carried); after each build the reconciliation holds and the latest
    load's erased count is every delivered row of Cy's (counted from the CSV text), as landing
    every file again counts it. (Erasing the first user of an account instead, Ana or Bo, fails
    the data test assert_retention_period_zero_is_complete on this tiny feed: the account's
    cohort anchor keeps the CRM's created_at while its first day's events are gone; it fails at
    the build after the erasure, whose load lands every file in full, not at an append.)"""
    from lawn.privacy import erase

    raw, db, work = _feed(tmp_path), tmp_path / "lawn.duckdb", tmp_path / "work"
    _build(raw, db, work)
    assert _rows_of(range(1), CY) == 0 < _rows_of(range(1, 2), CY)
    result = erase(db, user_id=CY["user_id"])
    assert not result.person_found and result.identifiers == 1  # a tombstone for the id only
    for number in (1, 2):
        _deliver(raw, number)
        _build(raw, db, work)
        with duckdb.connect(str(db), read_only=True) as con:
            summary = con.sql("select * from marts.fct_event_reconciliation").df().iloc[0]
            loads = con.execute(
                "select count(distinct load_id) from ops.raw_landing_manifest where table_name = 'raw_events'"
            ).fetchone()[0]
            left = con.execute("select count(*) from raw.raw_events where user_id = 'u-cy'").fetchone()[0]
        delivered = sum(len(_part(n)) for n in range(number + 1))
        assert bool(summary["is_reconciled"]) and left == 0
        assert summary["erased_at_landing_count"] == _rows_of(range(number + 1), CY) > 0
        assert summary["raw_count"] == delivered - _rows_of(range(number + 1), CY)
        assert loads == number  # landed in full at the second delivery, appended at the third
