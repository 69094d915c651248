"""Retention (lawn/retention.py) and the right to erasure (lawn/privacy.py).

Hand-written cases first (configuration errors, the identifier normal form, the keyed hash,
the value matcher), then one demo world, built once, on which the test serves an erasure,
applies retention, re-loads the same raw files and rebuilds, and checks every figure against
an independent count made with pandas from the raw files and the tables before the change."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import re
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from typer.testing import CliRunner

from lawn import nightly
from lawn.cli import app
from lawn.paths import DEMO_RAW_DIR, SEEDS_DIR
from lawn.privacy import erase
from lawn.privacy_maps import keyed_hash_from_pads, normalize, normalize_sql
from lawn.privacy_sweep import value_pattern
from lawn.retention import RetentionError, apply_retention, load_policies, load_targets
from lawn.validate_raw import load_raw
from tests_py.conftest import TEST_HASH_KEY, run_dbt
from tests_py.pii_scan import scan_db, scan_files

REFERENCE = dt.datetime(2026, 8, 2)  # one day after the demo's last delivery
# tight keep_days so that the demo's five months are cut in three places
TIGHT = {"raw_landing": 100, "event_history": 60, "quarantine_payload": 30, "model_scores": 45}


# --- hand-written cases ---------------------------------------------------------------------


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("retention_class,keep_days,action\nx,ten,delete\n", "line 2: keep_days 'ten' is not a whole number"),
        ("retention_class,keep_days,action\nx,0,delete\n", "line 2: keep_days must be at least 1"),
        ("retention_class,keep_days,action\nx,5,shred\n", "line 2: action 'shred' is not one of"),
        (
            "retention_class,keep_days,action\nx,5,delete\nx,6,delete\n",
            "line 3: retention_class 'x' repeated",
        ),
        ("retention_class,keep_days\nx,5\n", "missing column(s) action"),
        (
            "retention_class,keep_days,action\nraw_landing,30,delete\nevent_history,31,delete\n",
            "event_history keeps 31 days but raw_landing only 30",
        ),
    ],
)
def test_bad_policy_file_is_one_line_naming_the_row(tmp_path, body, message):
    path = _write(tmp_path / "policies.csv", body)
    with pytest.raises(RetentionError, match=re.escape(message)) as caught:
        load_policies(path)
    assert str(path) in str(caught.value) and "\n" not in str(caught.value)


def test_table_map_needs_a_policy_and_the_manifest_meta_wins(tmp_path):
    policies = load_policies(
        _write(tmp_path / "p.csv", "retention_class,keep_days,action\nshort,5,delete\nlong,50,delete\n")
    )
    tables = _write(
        tmp_path / "t.csv",
        "relation,retention_class,time_column,anonymise_columns\nml.churn_scores,long,feature_date,\n",
    )
    assert load_targets(policies, tables, None)[0].retention_class == "long"
    manifest = {"nodes": {"x": {"schema": "ml", "alias": "churn_scores", "columns": {
        "feature_date": {"name": "feature_date", "meta": {"retention_class": "short"}}}}}}  # fmt: skip
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    target = load_targets(policies, tables, tmp_path / "manifest.json")[0]
    assert (target.retention_class, target.class_from) == ("short", "manifest")
    bad = _write(
        tmp_path / "bad.csv", "relation,retention_class,time_column\nml.churn_scores,nope,feature_date\n"
    )
    with pytest.raises(
        RetentionError, match=re.escape("line 2: retention_class 'nope' of ml.churn_scores has no policy")
    ):
        load_targets(policies, bad, None)


def test_shipped_configuration_loads():
    policies = load_policies()
    targets = load_targets(policies, manifest_path=None)
    assert {t.retention_class for t in targets} <= set(policies)
    assert {"raw.raw_events", "marts.fct_quarantined_events", "files:exports"} <= {
        t.relation for t in targets
    }


@pytest.mark.parametrize(
    "value",
    [
        " Ana.Lee@Example.COM ",
        "<mailto:ana@x.io>",
        "'ana@x.io'.",
        "\u200bUSR_1\u00a0",
        "dev_\tA1",
        "plain",
        "ÄNN.Müller@Exämple.COM",
        "İLKER.ΟΔΥΣΣΕΥΣ@x.gr",
        "\r\n<Bob\u2028@X.com\ufeff>.\u3000",  # every kind of line break and invisible
        "a.*+?^$[](){}|\\-/b",  # what a regular expression would treat as special
    ],
)
def test_python_normal_form_is_the_macros(value):
    with duckdb.connect() as con:
        in_sql = con.execute(f"select {normalize_sql('?')}", [value]).fetchall()[0][0]
    assert normalize(value) == in_sql


def test_keyed_hash_from_pads_is_hmac_sha256():
    from lawn.identity_key import pads

    inner, outer = pads(TEST_HASH_KEY.secret)
    expected = hmac.new(TEST_HASH_KEY.secret, b"email:ana@x.io", hashlib.sha256).hexdigest()
    assert keyed_hash_from_pads(inner.hex(), outer.hex(), "email:ana@x.io") == expected


def test_value_pattern_matches_whole_tokens_only():
    pattern = re.compile(value_pattern({"usr_1", "ana@x.io", "10.0.0.1"}))
    assert pattern.search('{"user_id":"usr_1"}') and pattern.search("asked by ana@x.io.")
    assert pattern.search("usr_1") and pattern.search("ip 10.0.0.1, twice")
    for other in ("usr_12", "xana@x.io", "ana@x.io2", "10.0.0.12", "my.usr_1"):
        assert not pattern.search(other), other


def test_erase_needs_exactly_one_identifier(tmp_path):
    result = CliRunner().invoke(app, ["privacy", "erase", "--db", str(tmp_path / "x.duckdb")])
    assert result.exit_code == 2 and "exactly one of --email, --user-id, --person-id" in result.output


def test_erase_refuses_an_email_that_is_not_one(tmp_path):
    result = CliRunner().invoke(
        app, ["privacy", "erase", "--email", "ann smith", "--db", str(tmp_path / "x.duckdb")]
    )
    assert result.exit_code == 2
    assert result.output.strip() == "error: --email 'ann smith': not an email address (name@domain)"


def _file_holds(db: Path, values: set[str]) -> set[str]:
    """The values whose bytes are anywhere in the database file (free blocks included)."""
    data = db.read_bytes().lower()
    return {value for value in values if value.lower().encode() in data}


def test_erased_values_leave_no_bytes_in_the_database_file(tmp_path):
    """DuckDB keeps the blocks of deleted rows in the file: `strings` on the warehouse found
    an erased person's email, ids and IP address after `lawn privacy erase`. The erasure now
    rewrites the file; everything else (tables, views, rows) is as before."""
    db = tmp_path / "w.duckdb"
    _erasable_warehouse(db)
    theirs = {"usr_ann", "ann.smith@example.com", "anon-7f3a", "203.0.113.77"}
    assert _file_holds(db, theirs) == theirs  # the scan can fail
    kept = _erasable_warehouse(tmp_path / "copy.duckdb")
    erase(kept, user_id="USR_ANN ", compact_file=False)
    assert _file_holds(kept, theirs)  # without the rewrite the bytes stay (the defect)
    result = erase(db, user_id="USR_ANN ")
    assert result.compaction is not None and result.compaction.tables >= 5
    assert _file_holds(db, theirs) == set()
    assert _file_holds(db, {"usr_bob", "bob@acme.io"}) == {"usr_bob", "bob@acme.io"}
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("select user_id from marts.bob_only").fetchall() == [("usr_bob",)] * 50
        assert con.execute("select count(*) from ops.erasure_requests").fetchall() == [(1,)]
    assert not list(tmp_path.glob(".*compact*"))


def test_a_failed_file_rewrite_is_a_warning_after_a_committed_erasure(tmp_path, monkeypatch):
    import lawn.privacy

    def no_space(path: Path) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(lawn.privacy, "compact", no_space)
    db = _erasable_warehouse(tmp_path / "w.duckdb")
    result = erase(db, email="Ann.Smith@example.com")
    assert result.compaction is None and result.rows_deleted["raw.raw_events"] == 50
    assert any("not rewritten (OSError: [Errno 28] No space left on device)" in w for w in result.warnings)


def test_retention_leaves_no_bytes_of_the_purged_rows_in_the_file(tmp_path):
    """Purged raw rows (older than raw_landing's keep_days) are gone from the file's bytes too."""
    from lawn.landing import landing_table

    db = tmp_path / "w.duckdb"
    old_rows = [(f"o{i}", "2026-01-02T00:00:00Z", f'{{"email":"old.{i}@gone.io"}}') for i in range(60)]
    new_rows = [(f"n{i}", "2026-07-30T00:00:00Z", f'{{"email":"new.{i}@kept.io"}}') for i in range(60)]
    with duckdb.connect(str(db)) as con:
        con.execute("create schema raw; create schema staging; create schema ops")
        con.execute(landing_table("ops.retention_audit").duckdb_ddl())
        con.execute(
            "create table raw.raw_events (event_id varchar, received_at varchar, properties varchar, "
            "occurred_at varchar)"
        )
        rows = [(*row, row[1]) for row in old_rows + new_rows]  # occurred when received
        con.executemany("insert into raw.raw_events values (?, ?, ?, ?)", rows)
        # the staged columns retention reads (the age: received, else occurred)
        con.execute(
            "create view staging.stg_tracking__events as select received_at as received_at_raw, "
            "cast(received_at as timestamptz) at time zone 'UTC' as received_at, "
            "occurred_at as occurred_at_raw, "
            "cast(occurred_at as timestamptz) at time zone 'UTC' as occurred_at from raw.raw_events"
        )
    policies = _write(
        tmp_path / "p.csv",
        "retention_class,keep_days,action\nraw_landing,100,delete\nevent_history,50,delete\n",
    )
    tables = _write(
        tmp_path / "t.csv",
        "relation,retention_class,time_column,anonymise_columns\nraw.raw_events,raw_landing,received_at,\n",
    )
    assert b"old.7@gone.io" in db.read_bytes()
    rows = apply_retention(
        db, reference=REFERENCE, policies_path=policies, tables_path=tables, manifest_path=None
    )
    assert [(row.relation_name, row.rows_affected) for row in rows] == [("raw.raw_events", 60)]
    data = db.read_bytes()
    assert not any(f"old.{i}@gone.io".encode() in data for i in range(60))
    assert all(f"new.{i}@kept.io".encode() in data for i in range(60))


def _erasable_warehouse(db: Path) -> Path:
    """Two persons' raw rows (enough of them to fill blocks), the identity map, the key, a view."""
    from lawn.identity_key import pads
    from lawn.landing import landing_table

    inner, outer = pads(TEST_HASH_KEY.secret)
    with duckdb.connect(str(db)) as con:
        for schema in ("raw", "ops", "pii", "marts"):
            con.execute(f"create schema {schema}")
        for relation in ("ops.erasure_tombstones", "ops.erasure_requests"):
            con.execute(landing_table(relation).duckdb_ddl())
        con.execute(
            "create table ops.identity_hash_key "
            "(key_id varchar, inner_pad_hex varchar, outer_pad_hex varchar)"
        )
        con.execute(
            "insert into ops.identity_hash_key values (?, ?, ?)",
            [TEST_HASH_KEY.key_id, inner.hex(), outer.hex()],
        )
        con.execute(
            "create table pii.pii_identifiers "
            "(identifier_type varchar, identifier_value varchar, person_id varchar)"
        )
        con.execute(
            "insert into pii.pii_identifiers values ('user_id', 'usr_ann', 'per_1'), "
            "('anonymous_id', 'anon-7f3a', 'per_1'), ('email', 'ann.smith@example.com', 'per_1'), "
            "('user_id', 'usr_bob', 'per_2'), ('email', 'bob@acme.io', 'per_2')"
        )
        con.execute(
            "create table raw.raw_events (raw_event_key varchar, user_id varchar, anonymous_id varchar, "
            "device_id varchar, context varchar, properties varchar)"
        )
        ann = ('{"ip":"203.0.113.77"}', '{"email":"Ann.Smith@Example.COM"}')
        rows = [(f"a{i}", "usr_ann", "anon-7f3a", None, *ann) for i in range(50)]
        rows += [(f"b{i}", "usr_bob", None, None, "{}", '{"email":"bob@acme.io"}') for i in range(50)]
        con.executemany("insert into raw.raw_events values (?, ?, ?, ?, ?, ?)", rows)
        con.execute(
            "create view marts.bob_only as select user_id from raw.raw_events where user_id = 'usr_bob'"
        )
    return db


def test_nightly_applies_retention_right_after_the_build():
    names = [name for name, _ in nightly.STEPS]
    assert names[names.index("build") + 1] == "retention"


def _landing_warehouse(key_id: str | None = None) -> duckdb.DuckDBPyConnection:
    """A hand-written warehouse: four raw deliveries as a collector would send them, the
    test key installed, and tombstones for person usr_1 / ana@x.io / 10.0.0.1."""
    from lawn.identity_key import pads

    inner, outer = pads(TEST_HASH_KEY.secret)
    con = duckdb.connect()
    con.execute("create schema raw; create schema ops")
    con.execute(
        "create table raw.raw_events (event_id varchar, user_id varchar, anonymous_id varchar, "
        "device_id varchar, context varchar, properties varchar, received_at varchar)"
    )
    rows = [
        ("e1", "  USR_1 ", None, None, '{"ip": "10.0.0.1"}', '{"email": "x@y.z"}'),  # theirs, spaced
        ("e2", None, "anon_9", None, "{}", '{"email": "<mailto:Ana@X.io>"}'),  # theirs by email
        ("e3", "usr_2", None, None, '{"ip": "10.0.0.1"}', '{"invitee_email": " ana@x.io"}'),  # names them
        ("e4", "usr_12", None, None, '{"ip": "10.0.0.12"}', '{"invitee_email": "bo@x.io"}'),  # not them
    ]
    con.executemany("insert into raw.raw_events values (?, ?, ?, ?, ?, ?, '2026-01-01T00:00:00Z')", rows)
    con.execute(
        "create table ops.identity_hash_key (key_id varchar, inner_pad_hex varchar, outer_pad_hex varchar)"
    )
    con.execute(
        "insert into ops.identity_hash_key values (?, ?, ?)", [TEST_HASH_KEY.key_id, inner.hex(), outer.hex()]
    )
    con.execute(
        "create table ops.erasure_tombstones (request_id varchar, identifier_type varchar, "
        "identifier_hash varchar, key_id varchar, erased_at timestamp)"
    )
    for kind, value in (("user_id", "usr_1"), ("email", "ana@x.io"), ("ip", "10.0.0.1")):
        digest = hmac.new(TEST_HASH_KEY.secret, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()
        con.execute(
            "insert into ops.erasure_tombstones values ('r1', ?, ?, ?, now())",
            [kind, digest, key_id or TEST_HASH_KEY.key_id],
        )
    return con


def test_landing_withholds_tombstoned_rows_and_redacts_mentions():
    from lawn.privacy_landing import filter_landed

    con = _landing_warehouse()
    result = filter_landed(con)
    left = con.sql("select event_id, context, properties from raw.raw_events order by 1").fetchall()
    assert (result.erased, result.redacted) == (2, 2)  # e1, e2 withheld; e3's IP and invitee redacted
    assert [row[0] for row in left] == ["e3", "e4"]
    e3, e4 = left
    assert json.loads(e3[1]) == {"ip": None}
    assert re.fullmatch(r"erased-[0-9a-f]{16}@erased\.invalid", json.loads(e3[2])["invitee_email"])
    assert e4[1:] == ('{"ip": "10.0.0.12"}', '{"invitee_email": "bo@x.io"}')  # usr_12 is not usr_1


def test_landing_refuses_tombstones_made_under_another_key():
    from lawn.privacy_landing import filter_landed
    from lawn.raw_reader import RawFileError

    con = _landing_warehouse(key_id="0123456789abcdef")
    with pytest.raises(RawFileError, match="made under identity key 0123456789abcdef"):
        filter_landed(con)


def test_erasure_removes_quarantined_rows_whose_ids_retention_anonymised(tmp_path):
    """A quarantined delivery of the person whose ids the quarantine_payload retention already
    nulled: the identifier sweep cannot find it, so the erasure finds it by its delivery key in
    the validated events. Otherwise the quarantine mart (incremental, kept by the rebuild)
    counts a delivery whose raw row the erasure removed, and reconciliation fails."""
    from lawn.identity_key import pads
    from lawn.landing import landing_table

    inner, outer = pads(TEST_HASH_KEY.secret)
    db = tmp_path / "w.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("create schema raw; create schema ops; create schema pii; create schema intermediate")
        con.execute("create schema marts")
        for relation in ("ops.erasure_tombstones", "ops.erasure_requests"):
            con.execute(landing_table(relation).duckdb_ddl())
        con.execute(
            "create table ops.identity_hash_key "
            "(key_id varchar, inner_pad_hex varchar, outer_pad_hex varchar)"
        )
        con.execute("insert into ops.identity_hash_key values (?, ?, ?)",
                    [TEST_HASH_KEY.key_id, inner.hex(), outer.hex()])  # fmt: skip
        con.execute(
            "create table pii.pii_identifiers "
            "(identifier_type varchar, identifier_value varchar, person_id varchar)"
        )
        con.execute("insert into pii.pii_identifiers values ('user_id', 'usr_1', 'per_1'), "
                    "('user_id', 'usr_2', 'per_2')")  # fmt: skip
        deliveries = [("k1", "usr_1"), ("k2", "usr_1"), ("k3", "usr_2"), ("k4", "usr_2")]
        con.execute(
            "create table raw.raw_events (raw_event_key varchar, user_id varchar, anonymous_id varchar, "
            "device_id varchar, context varchar, properties varchar)"
        )
        con.executemany("insert into raw.raw_events values (?, ?, null, null, '{}', '{}')", deliveries)
        con.execute(
            "create table intermediate.int_events_validated (raw_event_key varchar, user_id varchar, "
            "anonymous_id varchar, device_id varchar, context_raw varchar, properties_raw varchar, "
            "context_ip varchar)"
        )
        con.executemany(
            "insert into intermediate.int_events_validated values (?, ?, null, null, '{}', '{}', null)",
            deliveries,
        )
        # k2 (usr_1) and k4 (usr_2) were quarantined; retention already nulled k2's and k4's ids
        con.execute(
            "create table marts.fct_quarantined_events (raw_event_key varchar, user_id varchar, "
            "anonymous_id varchar, device_id varchar, account_id varchar)"
        )
        con.execute("insert into marts.fct_quarantined_events values ('k2', null, null, null, null), "
                    "('k4', null, null, null, null)")  # fmt: skip
    result = erase(db, user_id="usr_1")
    with duckdb.connect(str(db), read_only=True) as con:
        left = [
            row[0] for row in con.execute("select raw_event_key from marts.fct_quarantined_events").fetchall()
        ]
        raw = [
            row[0] for row in con.execute("select raw_event_key from raw.raw_events order by 1").fetchall()
        ]
    assert left == ["k4"] and raw == ["k3", "k4"]
    assert result.rows_deleted["marts.fct_quarantined_events"] == 1
    assert result.rows_deleted["raw.raw_events"] == 2


# --- the demo world ---------------------------------------------------------------------------


def _policies(folder: Path) -> Path:
    frame = pd.read_csv(SEEDS_DIR / "governance" / "retention_policies.csv")
    frame["keep_days"] = [
        TIGHT.get(name, days) for name, days in zip(frame["retention_class"], frame["keep_days"], strict=True)
    ]
    path = folder / "policies.csv"
    frame.to_csv(path, index=False)
    return path


def _tables(db: Path) -> dict[str, pd.DataFrame]:
    with duckdb.connect(str(db), read_only=True) as con:
        names = con.execute(
            "select table_schema || '.' || table_name from information_schema.tables "
            "where table_type = 'BASE TABLE' order by 1"
        ).fetchall()
        return {name: con.sql(f"select * from {name}").df() for (name,) in names}


# a view over int_events_validated's valid rows: no table of its own, read like one
VALID_VIEW = "intermediate.int_events_valid"


def _valid_events(db: Path) -> pd.DataFrame:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.sql(f"select event_id, received_at from {VALID_VIEW}").df()


def _obj(text: str) -> dict:
    """A JSON object, or {} for anything else (malformed payloads are in the demo on purpose)."""
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _parse_utc(series: pd.Series) -> pd.Series:
    return pd.to_datetime(series, utc=True, format="ISO8601").dt.tz_localize(None)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """The demo built once, scored, with two exports (the second carrying a reversal whose
    reason names the person), and a hand-written note in the report folder."""
    from lawn.actions import export_actions, revert
    from lawn.churn_model import train
    from lawn.churn_scoring import score

    work = tmp_path_factory.mktemp("privacy")
    db = work / "lawn.duckdb"
    run_dbt(["build", "--exclude-resource-type", "unit_test"], db, work, raw_dir=DEMO_RAW_DIR)
    store, exports, reports = work / "store", work / "exports", work / "reports"
    train(db, store)
    score(db, store, since_training=True)
    run_dbt(["build", "--select", "fct_churn_scores+", "--exclude-resource-type", "unit_test"], db, work)
    first = export_actions(db, exports, "run-1", max_age_days=400)
    raw = pd.read_csv(DEMO_RAW_DIR / "raw_events.csv", dtype=str, keep_default_na=False)
    with duckdb.connect(str(db), read_only=True) as con:
        identifiers = con.sql("select * from pii.pii_identifiers where person_id is not null").df()
    # the person: invited by a colleague (their email is in another person's event) and
    # sharing an IP address with someone else
    invited = {
        normalize(str(v)) for v in raw["properties"].map(lambda p: _obj(p).get("invitee_email")).dropna()
    }
    emails = identifiers[
        (identifiers["identifier_type"] == "email") & identifiers["identifier_value"].isin(invited)
    ]
    sizes = identifiers[identifiers["person_id"].isin(emails["person_id"])].groupby("person_id").size()
    person_id = sizes.sort_values(ascending=False, kind="stable").index[0]  # the most identifiers
    email = emails.loc[emails["person_id"] == person_id, "identifier_value"].iloc[0]
    mine = identifiers[identifiers["person_id"] == person_id]
    ids = {
        kind: set(mine.loc[mine["identifier_type"] == kind, "identifier_value"])
        for kind in ("user_id", "anonymous_id", "device_id", "email")
    }
    norm = {column: raw[column].map(normalize) for column in ("user_id", "anonymous_id", "device_id")}
    props = raw["properties"].map(_obj)
    own_email = props.map(lambda p: normalize(str(p.get("email") or "")))
    is_theirs = (
        norm["user_id"].isin(ids["user_id"]) | norm["anonymous_id"].isin(ids["anonymous_id"])
        | norm["device_id"].isin(ids["device_id"]) | own_email.isin(ids["email"])
    )  # fmt: skip
    theirs = raw[is_theirs]
    context = theirs["context"].map(_obj)
    ips = {str(c.get("ip")) for c in context if c.get("ip")}
    names = {
        f"{p.get('first_name')} {p.get('last_name')}"
        for p in props[is_theirs]
        if p.get("first_name") and p.get("last_name")
    }
    # the graph's identifiers of the person (a device shared with someone else is nobody's),
    # as sent in the raw file, the emails they sent, their IP addresses and their name
    values = {
        v.strip()
        for column in ("user_id", "anonymous_id", "device_id")
        for v in theirs[column]
        if normalize(v) in ids[column]
    }
    values |= (
        {str(p.get("email")).strip() for p in props[is_theirs] if p.get("email")} | ips | names | ids["email"]
    )
    # a CSM reverts one of the exported actions, naming the person in the reason
    with duckdb.connect(str(db), read_only=True) as con:
        action_id = con.execute(
            "select min(action_id) from ops.action_exports where run_id = 'run-1'"
        ).fetchall()[0][0]
    assert first.actions > 0 and action_id
    revert(db, [action_id], reverted_by="csm", reason=f"customer {email} asked us to stop")
    export_actions(db, exports, "run-2", max_age_days=400)
    reports.mkdir()
    (reports / "review_notes.md").write_text(f"# review\n- {email} looked at twice\n")
    (reports / "other_notes.md").write_text("# nothing personal here\n")
    return {"db": db, "work": work, "exports": exports, "reports": reports, "email": email,
            "person_id": person_id, "values": values, "ips": ips, "raw": raw, "is_theirs": is_theirs,
            "invited_rows": int(props.map(lambda p: normalize(str(p.get("invitee_email") or ""))
                                          in ids["email"]).sum())}  # fmt: skip


def test_erasure_leaves_no_value_in_any_table_or_file(world):
    db, values = world["db"], world["values"]
    assert world["ips"] and len(values) > 6
    before = scan_db(db, values)
    assert before and scan_files([world["exports"], world["reports"]], values)  # the scan can fail
    result = erase(db, email=world["email"].upper() + " ", output_dirs=(world["exports"], world["reports"]))
    assert result.person_found and result.identifiers >= 4
    # raw rows deleted = the rows of the person in the raw file (pandas), exactly
    assert result.rows_deleted["raw.raw_events"] == int(world["is_theirs"].sum())
    assert scan_db(db, values) == []
    assert _file_holds(db, values) == set()  # nor in the file's free blocks
    assert scan_files([world["exports"], world["reports"]], values) == []
    assert (world["reports"] / "other_notes.md").exists()
    # the ledger keeps the reversal (its reason redacted) and the rewritten file carries it
    with duckdb.connect(str(db), read_only=True) as con:
        reasons = con.execute("select reason from ops.action_reversals").fetchall()
        tombstones = con.sql("select * from ops.erasure_tombstones").df()
    assert reasons == [("customer [erased] asked us to stop",)]
    sent = pd.read_csv(world["exports"] / "run-2" / "actions.csv")
    assert list(sent["reversal_reason"].dropna()) == ["customer [erased] asked us to stop"]
    # tombstones: keyed hashes of the normal forms, nothing else
    expected = hmac.new(TEST_HASH_KEY.secret, f"email:{world['email']}".encode(), hashlib.sha256).hexdigest()
    assert expected in set(tombstones["identifier_hash"])
    assert set(tombstones["identifier_type"]) >= {"user_id", "anonymous_id", "device_id", "email", "ip"}


def test_retention_purges_tables_only_and_the_valid_events_are_a_view(world):
    """A view holds no rows and cannot be purged: every relation of the shipped retention map
    is a base table of the built warehouse, and int_events_valid (a view over
    int_events_validated) is not in the map; the event tables under it are."""
    targets = load_targets(load_policies(), manifest_path=None)
    relations = {t.relation for t in targets if not t.relation.startswith("files:")}
    with duckdb.connect(str(world["db"]), read_only=True) as con:
        kinds = dict(
            con.execute(
                "select table_schema || '.' || table_name, table_type from information_schema.tables"
            ).fetchall()
        )
    present = {relation: kinds[relation] for relation in relations if relation in kinds}
    assert set(present.values()) == {"BASE TABLE"}, present
    assert {"intermediate.int_events_deduplicated", "intermediate.int_events_validated"} <= set(present)
    assert kinds[VALID_VIEW] == "VIEW" and VALID_VIEW not in relations


def test_retention_dry_run_changes_nothing_and_apply_removes_exactly_the_old_rows(world):
    db, policies = world["db"], _policies(world["work"])
    before, valid = _tables(db), _valid_events(db)
    dry = apply_retention(db, dry_run=True, reference=REFERENCE, policies_path=policies, manifest_path=None)
    after_dry = _tables(db)
    for name, frame in before.items():
        if name != "ops.retention_audit":
            pd.testing.assert_frame_equal(frame, after_dry[name], check_like=True, obj=name)
    audit = after_dry["ops.retention_audit"]
    assert len(audit) == len(dry) and audit["is_dry_run"].all()
    # independent counts (pandas) of what is older than each cutoff
    raw_cut = REFERENCE - dt.timedelta(days=TIGHT["raw_landing"])
    history_cut = REFERENCE - dt.timedelta(days=TIGHT["event_history"])
    quarantine_cut = REFERENCE - dt.timedelta(days=TIGHT["quarantine_payload"])
    score_cut = REFERENCE - dt.timedelta(days=TIGHT["model_scores"])
    raw_at = _parse_utc(before["raw.raw_events"]["received_at"])
    quarantined = before["marts.fct_quarantined_events"]
    personal = ["anonymous_id", "device_id", "user_id", "account_id"]
    dedup = before["intermediate.int_events_deduplicated"]
    validated = before["intermediate.int_events_validated"]
    held = quarantined[personal].notna().any(axis=1)
    expected = {
        "raw.raw_events": int((raw_at < raw_cut).sum()),
        "intermediate.int_events_deduplicated": int((dedup["received_at"] < history_cut).sum()),
        "intermediate.int_events_validated": int((validated["received_at"] < history_cut).sum()),
        "marts.fct_quarantined_events": int(((quarantined["received_at"] < quarantine_cut) & held).sum()),
        "ml.churn_scores": int((pd.to_datetime(before["ml.churn_scores"]["feature_date"]) < score_cut).sum()),
    }  # fmt: skip
    assert all(expected.values()), expected  # every policy bites on the demo
    counted = {row.relation_name: row.rows_affected for row in dry}
    assert {name: counted[name] for name in expected} == expected
    applied = apply_retention(db, reference=REFERENCE, policies_path=policies, manifest_path=None)
    assert {row.relation_name: row.rows_affected for row in applied} == counted
    after, valid_after = _tables(db), _valid_events(db)
    for name in (
        "raw.raw_events",
        "intermediate.int_events_deduplicated",
        "intermediate.int_events_validated",
        "ml.churn_scores",
    ):
        assert len(after[name]) == len(before[name]) - expected[name], name
    # the valid events view loses exactly its old rows with its table (not purged on its own)
    assert VALID_VIEW not in counted
    valid_old = int((valid["received_at"] < history_cut).sum())
    assert 0 < valid_old < expected["intermediate.int_events_validated"]
    assert len(valid_after) == len(valid) - valid_old
    assert (valid_after["received_at"] >= history_cut).all()
    assert (_parse_utc(after["raw.raw_events"]["received_at"]) >= raw_cut).all()
    assert (after["intermediate.int_events_deduplicated"]["received_at"] >= history_cut).all()
    old = after["marts.fct_quarantined_events"]["received_at"] < quarantine_cut
    assert len(after["marts.fct_quarantined_events"]) == len(quarantined)  # anonymised, not deleted
    assert after["marts.fct_quarantined_events"].loc[old, personal].isna().all().all()
    audit = after["ops.retention_audit"]
    rows = audit[~audit["is_dry_run"]].set_index("relation_name")["rows_affected"].to_dict()
    assert {name: rows[name] for name in expected} == expected
    again = apply_retention(db, reference=REFERENCE, policies_path=policies, manifest_path=None)
    assert sum(row.rows_affected for row in again) == 0  # nothing left to purge


def test_reloading_the_same_raw_data_keeps_erasure_and_retention_and_reconciles(world):
    db, work = world["db"], world["work"]
    raw_cut = REFERENCE - dt.timedelta(days=TIGHT["raw_landing"])
    old = _parse_utc(world["raw"]["received_at"]) < raw_cut
    report = load_raw(DEMO_RAW_DIR, db)  # what `lawn load` does
    assert report.ok, report.errors
    assert report.withheld.erased == int(world["is_theirs"].sum())
    assert report.withheld.retention == int((old & ~world["is_theirs"]).sum())
    result = run_dbt(["build", "--exclude-resource-type", "unit_test"], db, work)  # incremental
    assert "ERROR=0" in result.stdout and "FAIL" not in result.stdout.split("Done.")[-1]
    assert scan_db(db, world["values"]) == []
    with duckdb.connect(str(db), read_only=True) as con:
        summary = con.sql("select * from marts.fct_event_reconciliation").df().iloc[0]
        raw_rows = con.execute("select count(*) from raw.raw_events").fetchall()[0][0]
    assert summary["is_reconciled"] and summary["raw_count"] == raw_rows
    assert summary["raw_count"] == len(world["raw"]) - int(world["is_theirs"].sum()) - int(
        (old & ~world["is_theirs"]).sum()
    )
    # raw landing outlives the event history: rows purged there, still in raw, are counted
    assert summary["purged_from_history_count"] > 0 and summary["purged_from_raw_count"] == 0
    assert summary["erased_at_landing_count"] == int(world["is_theirs"].sum())


def test_exported_files_past_the_action_ledger_retention_are_removed(world, tmp_path):
    db = world["db"]
    tables = tmp_path / "tables.csv"
    pd.read_csv(SEEDS_DIR / "governance" / "retention_tables.csv").query(
        "retention_class == 'action_ledger'"
    ).to_csv(tables, index=False)
    with duckdb.connect(str(db), read_only=True) as con:
        exports = con.execute("select count(*) from ops.action_exports").fetchall()[0][0]
    files = [path for path in world["exports"].rglob("*") if path.is_file()]
    later = dt.datetime.now() + dt.timedelta(days=731)  # every export is older than 730 days then
    rows = {
        row.relation_name: row.rows_affected
        for row in apply_retention(db, reference=later, tables_path=tables, manifest_path=None)
    }
    assert rows["files:exports"] == len(files) and rows["ops.action_exports"] == exports
    assert not [path for path in world["exports"].rglob("*") if path.is_file()]
    # the ledger no longer remembers those actions: an export must not send them again
    # (it sent every one of them a second time: the export window is the data day's, the
    # purge the wall clock's)
    from lawn.actions import export_actions

    again = export_actions(db, tmp_path / "exports", "run-after-purge", max_age_days=400)
    assert (again.actions, again.reversals) == (0, 0)


def test_cli_retention_dry_run_prints_the_audit(world):
    result = CliRunner().invoke(app, ["retention", "apply", "--dry-run", "--db", str(world["db"]), "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert rows and all(row["is_dry_run"] for row in rows)
    bad = CliRunner().invoke(app, ["retention", "apply", "--as-of", "yesterday", "--db", str(world["db"])])
    assert bad.exit_code == 2 and "--as-of 'yesterday'" in bad.output


def test_retention_as_of_with_an_offset_is_that_instant_in_utc():
    # a black-box probe (2026-12-06): 11:07:01+02:00 was read as 11:07:01 UTC, so a row
    # received at 09:07:02 UTC 30 days earlier was purged a second before its time was up
    from lawn.cli_privacy import _reference

    utc = dt.datetime(2026, 12, 23, 9, 7, 1)
    for text in ("2026-12-23T09:07:01Z", "2026-12-23T11:07:01+02:00", "2026-12-23T05:07:01-04:00",
                 "2026-12-23T14:37:01+05:30", "2026-12-23T09:07:01"):  # fmt: skip
        assert _reference(text) == utc, text
    assert _reference("2026-12-23") == dt.datetime(2026, 12, 23)
