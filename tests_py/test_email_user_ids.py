"""Email-shaped ids in public marts (docs/governance.md, "Masking"): a user_id, anonymous_id or
device_id holding an email (many companies send the email as userId) is shown in every
`marts` table as the keyed hash of its normal form, like an email identifier; opaque ids are
shown as sent; the pii schema maps the hash back. A hand-written feed
(tests_py/fixtures/email_user_ids, see its README), built once, checked against Python's hmac
over the feed's own values."""

from __future__ import annotations

import hashlib
import hmac
import re
import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from lawn.privacy import erase
from tests_py.conftest import TEST_HASH_KEY, query, run_dbt
from tests_py.pii_scan import scan_db

FEED = Path(__file__).parent / "fixtures" / "email_user_ids"
IDS = ["anonymous_id", "device_id", "user_id"]
EMAIL_LIKE = re.compile(r"[^@\s\"]+@[^@\s\"]+\.[a-z]{2,}", re.I)
# the feed's email-shaped ids in their normal form (written out by hand, not computed)
EMAIL_IDS = {
    "bob@example.com",
    "jane.doe@example.com",
    "kiosk@example.com",
    "quinn@example.net",
    "quinn.anon@example.org",
}
OPAQUE = {"u-Carl_01", "usr_42", "anon-Carl", "dev@lab01", "u-bob-legacy", "br-jane"}


def _normal(value: str) -> str:
    """The feed's variants in normal form: no spaces, lower case, no wrapping <>."""
    return value.strip().lower().strip("<>")


def _keyed(value: str) -> str:
    return hmac.new(TEST_HASH_KEY.secret, value.encode(), hashlib.sha256).hexdigest()


def _shown(value: str | None) -> str | None:
    """What a mart shows for an id as sent: the keyed hash of an email-shaped one."""
    if value is None or pd.isna(value):
        return None
    value = value.strip()
    return _keyed(_normal(value)) if _normal(value) in EMAIL_IDS else value


def _value(value):
    return None if value is None or pd.isna(value) else value


def _raw() -> pd.DataFrame:
    return pd.read_csv(FEED / "raw_events.csv", dtype=str, keep_default_na=False).replace("", None)


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("email_user_ids")
    db = work / "lawn.duckdb"
    run_dbt(["build", "--exclude-resource-type", "unit_test"], db, work, raw_dir=FEED)
    return db


def test_the_feed_holds_what_the_test_expects():
    raw = _raw()
    sent = {_normal(v) for column in IDS for v in raw[column].dropna()}
    assert sent >= EMAIL_IDS
    assert {v for v in sent if EMAIL_LIKE.search(v)} == EMAIL_IDS, "every other id is opaque"


def test_no_public_mart_holds_an_email_shaped_id_in_clear(built):
    raw = _raw()
    clear = {v.strip() for column in IDS for v in raw[column].dropna() if _normal(v) in EMAIL_IDS}
    clear |= EMAIL_IDS
    hits = scan_db(built, clear)
    public = [hit for hit in hits if hit.split(".")[0] in ("marts", "snapshots")]
    assert public == []
    # the scan is not blind: the restricted schema keeps them
    assert any(hit.startswith("pii.pii_identifiers.identifier_value") for hit in hits)
    assert any(hit.startswith("pii.pii_event_personal_data.user_id") for hit in hits)
    # nor is there anything email-like in any text column of any mart
    with duckdb.connect(str(built), read_only=True) as con:
        columns = con.execute(
            "select table_name, column_name from information_schema.columns "
            "where table_schema = 'marts' and data_type in ('VARCHAR', 'JSON')"
        ).fetchall()
        assert len(columns) > 150
        for table, column in columns:
            cells = con.execute(f'select cast("{column}" as varchar) from marts."{table}"').fetchall()
            leaks = [c for (c,) in cells if c and EMAIL_LIKE.search(c)]
            assert leaks == [], f"marts.{table}.{column}: {leaks[:2]}"


def test_events_show_the_keyed_hash_of_email_ids_and_opaque_ids_as_sent(built):
    raw = _raw().drop_duplicates("event_id").set_index("event_id")
    events = query(built, "select event_id, anonymous_id, device_id, user_id from marts.fct_events")
    events = events.set_index("event_id")
    assert len(events) == 12
    for event_id, row in events.iterrows():
        for column in IDS:
            assert _value(row[column]) == _shown(raw.loc[event_id, column]), (event_id, column)
    assert events.loc["e-001", "user_id"] == _keyed("bob@example.com")
    assert events.loc["e-001", "user_id"] == events.loc["e-003", "user_id"], "one hash per email"
    assert events.loc["e-201", ["anonymous_id", "device_id", "user_id"]].tolist() == [
        "anon-Carl",
        "dev@lab01",
        "u-Carl_01",
    ]
    ids = "event_id, anonymous_id, device_id, user_id"
    quarantined = query(built, f"select {ids} from marts.fct_quarantined_events")
    assert quarantined.to_dict("records") == [
        {
            "event_id": "e-301",
            "anonymous_id": _keyed("quinn.anon@example.org"),
            "device_id": "br-quinn",
            "user_id": _keyed("quinn@example.net"),
        }
    ]
    # the pii schema keeps them as sent
    personal = query(built, f"select {ids} from pii.pii_event_personal_data")
    personal = personal.set_index("event_id")
    for column in IDS:
        expected = [None if _value(v) is None else v.strip() for v in raw.loc[personal.index, column]]
        assert [_value(v) for v in personal[column]] == expected, column


def test_a_count_of_the_events_view_computes_no_masked_id(built):
    """keyed_hash reads the key's source table, not a CTE: DuckDB materialises a CTE named
    more than once, and a query over the fct_events view then computed every row's hashes
    and shown properties even for a count (19 s of CPU at 10.2M events; the reconciliation
    view and its tests count it). The plan of a count must hold neither the hash nor the
    key, and the masked column, read, still hashes."""
    with duckdb.connect(str(built), read_only=True) as con:
        plan = "\n".join(
            row[1] for row in con.execute("explain select count(*) from marts.fct_events").fetchall()
        )
        assert "sha256" not in plan and "identity_hash_key" not in plan and "json_keys" not in plan, plan
        read = "\n".join(
            row[1] for row in con.execute("explain select user_id from marts.fct_events").fetchall()
        )
        assert "identity_hash_key" in read, read
        assert con.execute("select count(*) from marts.fct_events").fetchone() == (12,)


def test_a_person_id_is_the_keyed_hash_of_its_founding_id_not_an_md5(built):
    """person_id is 'per_' + 16 hex digits of the keyed hash of the person's oldest user_id
    (or, for an anonymous person, of its oldest identifier key). With an md5, anyone holding
    bob@example.com could compute bob's person id and find him in every mart."""
    identifiers = query(
        built, "select identifier_key, identifier_type, identifier_value, person_id from pii.pii_identifiers"
    )
    identifiers = identifiers[identifiers["person_id"].notna()]
    assert len(identifiers) >= 10
    md5 = {"per_" + hashlib.md5(str(v).encode()).hexdigest()[:16] for v in identifiers["identifier_value"]}
    md5 |= {"per_" + hashlib.md5(str(v).encode()).hexdigest()[:16] for v in identifiers["identifier_key"]}
    for person_id, own in identifiers.groupby("person_id"):
        users = own.loc[own["identifier_type"] == "user_id", "identifier_value"]
        founders = users if len(users) else own["identifier_key"]
        assert person_id in {"per_" + _keyed(value)[:16] for value in founders}, (person_id, list(founders))
        assert person_id not in md5, person_id
    bob = identifiers.loc[identifiers["identifier_value"] == "bob@example.com", "person_id"].iloc[0]
    assert bob != "per_" + hashlib.md5(b"bob@example.com").hexdigest()[:16]


def test_identity_marts_mask_the_same_value_to_the_same_hash(built):
    identifiers = query(
        built, "select identifier_key, identifier_type, identifier_value from marts.dim_identifiers"
    )
    keys = set(identifiers["identifier_key"])
    assert f"user_id:{_keyed('bob@example.com')}" in keys
    assert f"user_id:{_keyed('jane.doe@example.com')}" in keys
    assert f"anonymous_id:{_keyed('jane.doe@example.com')}" in keys
    assert f"email:{_keyed('jane.doe@example.com')}" in keys, "the email_key of that email"
    assert {"user_id:u-carl_01", "user_id:usr_42", "device_id:dev@lab01"} <= keys
    shown_key = identifiers["identifier_type"] + ":" + identifiers["identifier_value"]
    assert (shown_key == identifiers["identifier_key"]).all()
    users = query(built, "select person_id, primary_user_id from marts.dim_users")
    assert _keyed("jane.doe@example.com") in set(users["primary_user_id"])
    merges = query(built, "select user_id_a, user_id_b, link_reason, evidence from marts.fct_identity_merges")
    assert merges.to_dict("records") == [
        {
            "user_id_a": _keyed("bob@example.com"),
            "user_id_b": "u-bob-legacy",
            "link_reason": "same_email",
            "evidence": f"email_key={_keyed('bob@example.com')}",
        }
    ]
    conflicts = query(built, "select identifier_key, conflict_reason from marts.fct_identity_conflicts")
    assert conflicts.to_dict("records") == [
        {
            "identifier_key": f"anonymous_id:{_keyed('kiosk@example.com')}",
            "conflict_reason": "shared_identifier",
        }
    ]


def test_joins_on_masked_ids_still_match(built):
    # every event's user_id is an identifier of the map, of the event's person (the map holds
    # ids in normal form: lower() for the opaque u-Carl_01; a keyed hash is lower-case hex)
    joined = query(
        built,
        "select events.event_id, events.person_id, identifiers.person_id as identifier_person "
        "from marts.fct_events as events left join marts.dim_identifiers as identifiers "
        "on identifiers.identifier_key = 'user_id:' || lower(events.user_id) "
        "where events.user_id is not null",
    )
    assert len(joined) == 11 and (joined["person_id"] == joined["identifier_person"]).all()
    # fct_events.user_id -> dim_users.primary_user_id: the founding ids (Jane's, Bob's, Dee's) match
    founders = query(
        built,
        "select distinct events.user_id, events.person_id = users.person_id as same_person "
        "from marts.fct_events as events "
        "inner join marts.dim_users as users on events.user_id = users.primary_user_id",
    )
    assert set(founders["user_id"]) == {_keyed("jane.doe@example.com"), "u-bob-legacy", "usr_42"}
    assert founders["same_person"].all()
    # the merge names the same hash as the events and the map
    merged = query(
        built,
        "select count(*) as n from marts.fct_identity_merges as merges "
        "inner join marts.fct_events as events on merges.user_id_a = events.user_id",
    )
    assert merged["n"][0] == 3


def test_the_pii_schema_maps_the_hash_back(built):
    mapped = query(
        built,
        "select identifiers.identifier_key, pii.identifier_value "
        "from marts.dim_identifiers as identifiers "
        "inner join pii.pii_identifiers as pii on identifiers.identifier_key = pii.identifier_key",
    )
    back = dict(zip(mapped["identifier_key"], mapped["identifier_value"], strict=True))
    assert len(back) == len(query(built, "select * from marts.dim_identifiers"))
    for email in ("bob@example.com", "jane.doe@example.com"):
        assert back[f"user_id:{_keyed(email)}"] == email
    assert back[f"anonymous_id:{_keyed('kiosk@example.com')}"] == "kiosk@example.com"
    assert back["user_id:usr_42"] == "usr_42"
    # a masked user_id of fct_events, through 'user_id:' || user_id
    events = query(
        built,
        "select distinct pii.identifier_value from marts.fct_events as events "
        "inner join pii.pii_identifiers as pii on pii.identifier_key = 'user_id:' || events.user_id "
        "where events.event_id in ('e-001', 'e-002', 'e-003')",
    )
    assert events["identifier_value"].tolist() == ["bob@example.com"]
    users = query(
        built,
        "select users.primary_user_id as shown, pii.primary_user_id as clear "
        "from marts.dim_users as users inner join pii.pii_users as pii on users.person_id = pii.person_id",
    )
    assert all(_shown(clear) == shown for shown, clear in zip(users["shown"], users["clear"], strict=True))
    assert "jane.doe@example.com" in set(users["clear"])


def test_erasing_a_person_removes_the_masked_keys_from_the_identity_history(built, tmp_path):
    db = tmp_path / "copy.duckdb"
    shutil.copy(built, db)
    jane = {f"{kind}:{_keyed('jane.doe@example.com')}" for kind in ("user_id", "anonymous_id", "email")}
    history = "select identifier_key from snapshots.identity_map_history"
    assert jane <= set(query(db, history)["identifier_key"])
    result = erase(db, email="  JANE.Doe@example.COM ", compact_file=False)
    assert result.person_found
    assert not jane & set(query(db, history)["identifier_key"])
    assert scan_db(db, {"jane.doe@example.com"}) == []
