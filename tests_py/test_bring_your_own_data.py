"""A new user's own data, written from the contract alone (hand-written fixtures, not our
generator): the same small feed as CSV, JSON Lines and typed Parquet, and a Segment export,
each built end to end; and the gate agreeing with the loader on broken files."""

from __future__ import annotations

import contextlib
import json
import shutil
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from lawn.cli import app
from lawn.contract import RAW_TABLES
from lawn.segment import envelope_row
from tests_py.conftest import query, run_dbt
from tests_py.expectations import data_quality_from_rows

FIXTURES = Path(__file__).parent / "fixtures"
BYOD = FIXTURES / "byod"
SEGMENT = FIXTURES / "segment" / "export.jsonl"
runner = CliRunner()

# what the hand-written feed holds (see the comments in tests_py/fixtures/byod/README.md)
EXPECTED_QUARANTINE = {
    "e-201": "UNKNOWN_EVENT",
    "e-202": "MALFORMED_PROPERTIES_JSON",
    "e-204": "WRONG_TYPE",
    "e-205": "NO_IDENTIFIER",
    None: "MISSING_EVENT_ID",
}
EXPECTED_VALID = {f"e-00{i}" for i in range(1, 9)} | {f"e-10{i}" for i in range(1, 7)}


def _as_jsonl(frame: pd.DataFrame, path: Path) -> None:
    """What an export job writes: nested objects, a number for the version, no empty cells."""
    with open(path, "w") as handle:
        for row in frame.to_dict("records"):
            record = {key: value for key, value in row.items() if value is not None and value == value}
            record["schema_version"] = int(record["schema_version"])
            for column in ("context", "properties"):
                if column in record:
                    # a malformed payload stays text: the row is quarantined, not lost
                    with contextlib.suppress(ValueError):
                        record[column] = json.loads(record[column])
            handle.write(json.dumps(record) + "\n")


def _as_typed_parquet(frame: pd.DataFrame, path: Path) -> None:
    """What a warehouse unload writes: real timestamps, integer versions, columns reordered."""
    typed = frame.copy()
    for column in ("occurred_at", "received_at"):
        typed[column] = pd.to_datetime(typed[column], utc=True, format="ISO8601")
    typed["schema_version"] = typed["schema_version"].astype("int64")
    typed = typed[list(reversed(typed.columns))]
    pq.write_table(pa.Table.from_pandas(typed, preserve_index=False), path)


@pytest.fixture(scope="module", params=["csv", "jsonl", "parquet"])
def built_feed(request, tmp_path_factory):
    """The hand-written feed in one format, built end to end (no demo data anywhere)."""
    work = tmp_path_factory.mktemp(f"byod_{request.param}")
    raw = work / "raw"
    raw.mkdir()
    frame = pd.read_csv(BYOD / "raw_events.csv", dtype="string", keep_default_na=False, na_values=[""])
    if request.param == "csv":
        shutil.copy(BYOD / "raw_events.csv", raw)
    elif request.param == "jsonl":
        _as_jsonl(frame.astype(object).where(frame.notna(), None), raw / "raw_events.jsonl")
    else:
        _as_typed_parquet(frame, raw / "raw_events.parquet")
    shutil.copy(BYOD / "crm_accounts.csv", raw)  # no marketing_spend, no experiment_registry
    db_path = work / "lawn.duckdb"
    run_dbt(["build", "--exclude-resource-type", "unit_test"], db_path, work, raw_dir=raw)
    return request.param, db_path


def test_each_format_builds_and_judges_every_row_alike(built_feed):
    _, db = built_feed
    assert query(db, "select count(*) as n from raw.raw_events")["n"].iloc[0] == 20, "only the user's rows"
    assert set(query(db, "select event_id from marts.fct_events")["event_id"]) == EXPECTED_VALID
    quarantined = query(db, "select event_id, primary_reason_code from marts.fct_quarantined_events")
    got = {
        (None if pd.isna(k) else k): v
        for k, v in zip(quarantined.event_id, quarantined.primary_reason_code, strict=True)
    }
    assert got == EXPECTED_QUARANTINE
    # 20 raw = 14 valid + 5 quarantined + 1 redelivery of e-008
    dq = query(db, "select sum(duplicate_count) as dup from marts.fct_data_quality_daily")
    assert dq["dup"].iloc[0] == 1
    # every group's counts, as pandas joins each delivery to its event
    deliveries = query(
        db,
        "select raw_event_key, delivery_status, received_at, source, event_name "
        "from intermediate.int_events_validated",
    )
    expected = data_quality_from_rows(
        deliveries, query(db, "select raw_event_key, person_id from marts.fct_events")
    )
    actual = query(
        db,
        f"select received_date, source, event_name, {', '.join(expected.columns)} "
        "from marts.fct_data_quality_daily",
    )
    actual["received_date"] = pd.to_datetime(actual["received_date"]).dt.date
    actual = actual.set_index(["received_date", "source", "event_name"]).sort_index()
    assert list(actual.index) == list(expected.index)
    assert actual.astype(int).equals(expected.astype(int))


def test_each_format_gives_the_same_revenue_and_people(built_feed):
    _, db = built_feed
    mrr = query(db, "select account_id, cast(mrr_usd as double) as mrr from marts.fct_mrr order by 1")
    assert list(mrr.itertuples(index=False, name=None)) == [("acme", 49.0), ("globex", 199.0)]
    # the email lives in the restricted schema (pii.pii_users), joined on person_id
    users = query(
        db,
        "select users.primary_user_id, users.account_id, pii_users.email from marts.dim_users as users "
        "left join pii.pii_users as pii_users on users.person_id = pii_users.person_id order by 1",
    )
    # Bo and Cy never sent identify traits: their email is the one they signed up with
    assert list(users.itertuples(index=False, name=None)) == [
        ("u-ana", "acme", "ana@acme.io"),
        ("u-bo", "globex", "bo@globex.example"),
        ("u-cy", "globex", "cy@globex.example"),
    ]
    # Ana's anonymous page view before signup is hers
    ana = query(db, "select person_id from marts.fct_events where event_id in ('e-001', 'e-002')")
    assert ana["person_id"].nunique() == 1
    # optional CRM columns that the export lacks are empty, not an error
    accounts = query(db, "select account_id, industry, segment from marts.dim_accounts order by 1")
    assert accounts["industry"].isna().all() and list(accounts["segment"]) == ["smb", "mid_market"]
    assert query(db, "select count(*) as n from marts.fct_experiment_readouts")["n"].iloc[0] == 0
    # new customers are counted; without spend data their CAC is unknown, not zero
    cac = query(
        db, "select acquisition_channel, new_customers, spend_usd, cac_usd from marts.fct_cac_payback"
    )
    assert sorted(zip(cac.acquisition_channel, cac.new_customers, strict=True)) == [
        ("organic", 1),
        ("paid_search", 1),
    ]
    assert cac["spend_usd"].isna().all() and cac["cac_usd"].isna().all()


def test_rows_without_a_readable_receive_time_are_quarantined_not_the_feed_refused(tmp_path):
    """A backfill that lost two receive times (one empty, one text that is no time) lands
    and builds, data tests included: the two rows are quarantined as INVALID_RECEIVED_AT and
    raw = valid + quarantined + duplicates still holds (before, the gate refused the feed)."""
    raw = tmp_path / "raw"
    raw.mkdir()
    frame = pd.read_csv(BYOD / "raw_events.csv", dtype="string", keep_default_na=False, na_values=[""])
    frame.loc[frame["event_id"] == "e-006", "received_at"] = pd.NA
    frame.loc[frame["event_id"] == "e-104", "received_at"] = "not recorded"
    frame.to_csv(raw / "raw_events.csv", index=False)
    shutil.copy(BYOD / "crm_accounts.csv", raw)
    db = tmp_path / "lawn.duckdb"
    run_dbt(["build", "--exclude-resource-type", "unit_test"], db, tmp_path, raw_dir=raw)
    assert query(db, "select count(*) as n from raw.raw_events")["n"].iloc[0] == 20
    assert set(query(db, "select event_id from marts.fct_events")["event_id"]) == EXPECTED_VALID - {
        "e-006",
        "e-104",
    }
    quarantined = query(db, "select event_id, primary_reason_code from marts.fct_quarantined_events")
    got = {
        (None if pd.isna(k) else k): v
        for k, v in zip(quarantined.event_id, quarantined.primary_reason_code, strict=True)
    }
    assert got == {**EXPECTED_QUARANTINE, "e-006": "INVALID_RECEIVED_AT", "e-104": "INVALID_RECEIVED_AT"}


def test_a_feed_without_a_crm_export_keeps_its_accounts(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    shutil.copy(BYOD / "raw_events.csv", raw)
    db = tmp_path / "lawn.duckdb"
    selection = ["--select", "+dim_accounts", "+fct_mrr_movements", "--indirect-selection", "cautious"]
    run_dbt(["build", "--exclude-resource-type", "unit_test", *selection], db, tmp_path, raw_dir=raw)
    accounts = query(
        db, "select account_id, segment, acquisition_channel, created_at from marts.dim_accounts"
    )
    assert set(accounts["account_id"]) == {"acme", "globex"}
    assert set(accounts["segment"]) == {"unknown"} and set(accounts["acquisition_channel"]) == {"unknown"}
    # created when first seen: Ana's signup (08:05:01 UTC) is acme's first event with an account
    acme = accounts.set_index("account_id").loc["acme", "created_at"]
    assert str(acme) == "2026-03-02 08:05:00"
    moves = query(db, "select account_id, movement_type from marts.fct_mrr_movements order by 1")
    assert list(moves.itertuples(index=False, name=None)) == [("acme", "new"), ("globex", "new")]


# -- Segment -------------------------------------------------------------------------------


def test_segment_messages_map_onto_the_envelope():
    messages = [json.loads(line) for line in SEGMENT.read_text().splitlines() if line.endswith("}")]
    rows = {message["messageId"]: envelope_row(message) for message in messages}
    page = rows["ajs-1"]
    assert (page["event_name"], page["source"], page["anonymous_id"], page["user_id"]) == (
        "page_viewed", "web", "anon-7", None)  # fmt: skip
    assert json.loads(page["properties"]) == {
        "page_path": "/pricing", "referrer": "https://news.example/", "utm_source": "newsletter"}  # fmt: skip
    # occurred_at: Segment's skew-corrected timestamp, receivedAt - (sentAt - originalTimestamp):
    # 09:00:00.500 - (00.200 - 00.000) = 09:00:00.300
    assert (page["occurred_at"], page["received_at"]) == (
        "2026-04-01T09:00:00.300Z",
        "2026-04-01T09:00:00.500Z",
    )
    identify = rows["ajs-3"]
    assert identify["event_name"] == "identified" and identify["account_id"] == "acme"
    traits = {"email": "ines@acme.example", "first_name": "Ines", "last_name": "Costa", "role": "owner"}
    assert json.loads(identify["properties"]) == traits
    feature = rows["ajs-5"]
    assert (feature["event_name"], feature["schema_version"]) == ("feature_used", "2")
    assert "schema_version" not in json.loads(feature["properties"])
    server = rows["srv-6"]
    assert (server["source"], server["account_id"], server["occurred_at"]) == (
        "backend", "acme", "2026-04-03T12:00:00.000Z")  # fmt: skip
    screen = rows["ios-7"]
    assert (screen["event_name"], screen["source"], screen["device_id"]) == (
        "page_viewed",
        "ios",
        "iphone-42",
    )
    assert json.loads(screen["properties"]) == {"page_path": "/dashboard"}
    assert json.loads(screen["context"])["app_version"] == "3.4.0"
    assert rows["ajs-12"]["properties"] == json.dumps({"first_name": "Rui", "last_name": "Lopes"}).replace(
        " ", ""
    )
    assert rows["ajs-4"]["event_name"] == "group_identified"
    alias = rows["ajs-13"]  # alias(userId, previousId): an identify linking previousId to userId
    assert (alias["event_name"], alias["anonymous_id"], alias["user_id"]) == ("identified", "anon-7", "u-1")


def test_segment_export_builds_end_to_end(tmp_path):
    raw = tmp_path / "raw"
    result = runner.invoke(app, ["ingest", "segment", str(SEGMENT), "--out", str(raw)])
    assert result.exit_code == 0, result.output
    assert "13 raw events" in result.output and "1 unreadable" in result.output
    db = tmp_path / "lawn.duckdb"
    run_dbt(["build", "--exclude-resource-type", "unit_test"], db, tmp_path, raw_dir=raw)
    valid = query(db, "select event_id, person_id from marts.fct_events")
    # ajs-12 (identify without an email) and ajs-13 (alias) are valid since tracking plan 2026.12.0
    assert set(valid["event_id"]) == {
        "ajs-1", "ajs-2", "ajs-3", "ajs-5", "srv-6", "ios-7", "and-8", "ajs-12", "ajs-13"}  # fmt: skip
    people = valid.set_index("event_id")["person_id"]
    # the anonymous web page view, the server-side plan change, the iOS screen and the alias are Ines's
    assert people[["ajs-1", "ajs-2", "srv-6", "ios-7", "ajs-13"]].nunique() == 1
    assert people["and-8"] != people["ajs-1"] and people["ajs-12"] == people["and-8"]  # Rui, u-2
    reasons = query(db, "select event_id, primary_reason_code from marts.fct_quarantined_events")
    assert sorted(zip(reasons.event_id.fillna("-"), reasons.primary_reason_code, strict=True)) == [
        ("-", "MISSING_EVENT_ID"),  # the truncated line, kept
        ("ajs-11", "UNKNOWN_EVENT"),  # Order Completed is not in the plan
        ("ajs-4", "UNKNOWN_EVENT"),  # group
    ]
    assert query(db, "select count(*) as n from raw.raw_events")["n"].iloc[0] == 13  # 7 + 5 + 1 duplicate
    mrr = query(db, "select account_id, cast(mrr_usd as double) as mrr from marts.fct_mrr")
    assert list(mrr.itertuples(index=False, name=None)) == [("acme", 49.0)]


def test_segment_input_errors_are_one_line(tmp_path):
    missing = runner.invoke(app, ["ingest", "segment", str(tmp_path / "nope.jsonl"), "--out", str(tmp_path)])
    assert missing.exit_code == 2 and "nope.jsonl: no such file" in missing.output
    (tmp_path / "bin.jsonl").write_bytes(b"\xff\xfe\x00garbage")
    binary = runner.invoke(app, ["ingest", "segment", str(tmp_path / "bin.jsonl"), "--out", str(tmp_path)])
    assert binary.exit_code == 2 and "not UTF-8" in binary.output and "Traceback" not in binary.output


# -- the gate reads what the loader lands --------------------------------------------------


@pytest.fixture()
def feed_dir(tmp_path) -> Path:
    raw = tmp_path / "raw"
    raw.mkdir()
    shutil.copy(BYOD / "raw_events.csv", raw)
    return raw


def _load(raw: Path, tmp_path: Path):
    db = tmp_path / "gate.duckdb"
    return runner.invoke(app, ["load", "--raw-dir", str(raw)], env={"LAWN_DUCKDB_PATH": str(db)}), db


def test_columns_are_matched_by_name_and_extras_are_listed(feed_dir, tmp_path):
    frame = pd.read_csv(feed_dir / "raw_events.csv", dtype="string")
    frame["tenant_region"] = "eu"
    frame[list(reversed(frame.columns))].to_csv(feed_dir / "raw_events.csv", index=False)
    result, db = _load(feed_dir, tmp_path)
    assert result.exit_code == 0, result.output
    assert "ignored columns: tenant_region" in result.output
    landed = query(db, "select event_id, properties from raw.raw_events")
    assert set(landed["event_id"].dropna()) == set(frame["event_id"].dropna())
    assert landed["properties"].str.startswith("{").sum() == len(frame)


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        (b'acc-1,"zq-secret unterminated\n', "line 2"),
        # Windows-1252 is read (tests_py/test_raw_encodings.py), but 0x81 is no character of it
        (b"acc-1,zq-secret caf\xe9 \x81\n", "line 2: byte 0x81 is not Windows-1252 (nor is the line UTF-8)"),
        (b"acc-1,zq-secret,x,y,z,w,v,u,t,s\n", "line 2"),
    ],
    ids=["truncated", "not-windows-1252", "extra-field"],
)
def test_broken_csv_is_one_line_naming_the_line_and_no_content(feed_dir, tmp_path, row, expected):
    path = feed_dir / "crm_accounts.csv"
    header = ",".join(RAW_TABLES["crm_accounts"].column_names).encode()
    path.write_bytes(header + b"\n" + row)
    result, db = _load(feed_dir, tmp_path)
    assert result.exit_code == 2 and "Traceback" not in result.output
    [line] = [line for line in result.output.splitlines() if "crm_accounts.csv" in line]
    assert expected in line
    assert "zq-secret" not in result.output, "a row's contents never reach the output"
    assert not db.exists()


def test_a_bad_json_lines_line_is_named(feed_dir, tmp_path):
    (feed_dir / "crm_accounts.jsonl").write_text('{"account_id": "a1"}\n{"account_id": \n')
    result, _ = _load(feed_dir, tmp_path)
    assert result.exit_code == 2 and "crm_accounts.jsonl: line 2: not a JSON object" in result.output


def test_two_files_for_one_table_are_refused(feed_dir, tmp_path):
    shutil.copy(BYOD / "crm_accounts.csv", feed_dir)
    pd.read_csv(BYOD / "crm_accounts.csv").to_parquet(feed_dir / "crm_accounts.parquet")
    result, _ = _load(feed_dir, tmp_path)
    assert result.exit_code == 2 and "more than one file for table crm_accounts" in result.output


def test_a_huge_value_is_landed_and_quarantined_not_a_load_failure(feed_dir, tmp_path):
    """agate refused fields over 131,072 characters and blocked the build; the loader lands
    them and staging quarantines the row (PAYLOAD_TOO_LARGE), so raw still reconciles."""
    frame = pd.read_csv(feed_dir / "raw_events.csv", dtype="string")
    frame.loc[4, "properties"] = json.dumps({"feature_name": "reports", "blob": "x" * 1_000_000})
    frame.to_csv(feed_dir / "raw_events.csv", index=False)
    result, db = _load(feed_dir, tmp_path)
    assert result.exit_code == 0, result.output
    assert query(db, "select max(length(properties)) as n from raw.raw_events")["n"].iloc[0] > 1_000_000
    selection = ["--select", "+fct_quarantined_events", "+fct_events", "--indirect-selection", "cautious"]
    run_dbt(["build", "--exclude-resource-type", "unit_test", *selection], db, tmp_path)
    reasons = query(
        db, "select event_id, reason_codes from marts.fct_quarantined_events where event_id = 'e-005'"
    )
    assert reasons["reason_codes"].iloc[0].split("|")[0] == "PAYLOAD_TOO_LARGE"
    assert "e-005" not in set(query(db, "select event_id from marts.fct_events")["event_id"])


def test_typed_parquet_lands_as_canonical_text(feed_dir, tmp_path):
    frame = pd.read_csv(feed_dir / "raw_events.csv", dtype="string")
    (feed_dir / "raw_events.csv").unlink()
    _as_typed_parquet(frame, feed_dir / "raw_events.parquet")
    result, db = _load(feed_dir, tmp_path)
    assert result.exit_code == 0, result.output
    landed = query(db, "select event_id, occurred_at, received_at, schema_version from raw.raw_events")
    first = landed[landed["event_id"] == "e-001"].iloc[0]
    # 09:00 at +01:00 is 08:00 UTC; received 08:00:01Z
    assert (first["occurred_at"], first["received_at"], first["schema_version"]) == (
        "2026-03-02T08:00:00.000000Z", "2026-03-02T08:00:01.000000Z", "1")  # fmt: skip


def test_the_contract_page_is_written_from_the_contract_code():
    result = runner.invoke(app, ["contract", "--check"])
    assert result.exit_code == 0, "docs/bring_your_own_data.md is stale: run `lawn contract`"
    page = (Path(__file__).parent.parent / "docs" / "bring_your_own_data.md").read_text()
    for table in RAW_TABLES.values():
        assert f"## `{table.name}`" in page
        assert all(f"| `{column}` |" in page for column in table.column_names)


def test_load_errors_are_one_line(feed_dir, tmp_path):
    corrupt = tmp_path / "corrupt.duckdb"
    corrupt.write_text("not a warehouse")
    result = runner.invoke(app, ["load", "--raw-dir", str(feed_dir)], env={"LAWN_DUCKDB_PATH": str(corrupt)})
    # a file that is not a DuckDB database is a wrong LAWN_DUCKDB_PATH / --db: bad input (exit
    # 2), named in one line (a damaged DuckDB file is a failed step, 1: test_hardening.py)
    assert result.exit_code == 2 and "not a DuckDB warehouse" in result.output
    assert corrupt.read_text() == "not a warehouse"
    a_file = runner.invoke(app, ["load", "--raw-dir", str(feed_dir / "raw_events.csv")])
    assert a_file.exit_code == 2 and "not a folder" in a_file.output
    assert all("Traceback" not in each.output for each in (result, a_file))


def test_client_times_without_an_offset_are_refused_by_the_gate(feed_dir, tmp_path):
    """A feed whose occurred_at has no zone would be quarantined row by row (the contract
    needs an offset): the gate says so up front, in one line, instead."""
    frame = pd.read_csv(feed_dir / "raw_events.csv", dtype="string")
    frame["occurred_at"] = frame["occurred_at"].str.replace(r"(Z|[+-]\d{2}:\d{2})$", "", regex=True)
    frame.to_csv(feed_dir / "raw_events.csv", index=False)
    result, _ = _load(feed_dir, tmp_path)
    assert result.exit_code == 2
    assert "'occurred_at' has 20 value(s) that are not an ISO 8601 timestamp with an offset" in result.output


def test_a_semicolon_separated_export_is_named_as_such(feed_dir, tmp_path):
    """Spreadsheets in many locales save CSV with semicolons."""
    text = (BYOD / "crm_accounts.csv").read_text().replace(",", ";")
    (feed_dir / "crm_accounts.csv").write_text(text)
    result, _ = _load(feed_dir, tmp_path)
    assert result.exit_code == 2 and "lawn reads comma-separated CSV" in result.output
