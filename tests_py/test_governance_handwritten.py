"""Governance on a hand-written SDK-like feed (tests_py/fixtures/governance, JSON Lines + CRM),
built once: what a privacy officer checks.

The feed: Ann (usr_ann) has an anonymous id, two devices, two emails (one sent as
` Ann.Smith@Example.COM `), a name, two IP addresses, a redelivery, three quarantined
deliveries (local time, an unknown event, no receive time), and an SDK that adds
`user_email` and `phone` to her feature_used event; her colleague Bob invites her as
`ANN.SMITH@example.com `; Carol (another account) sends a page view with a nested `traits`
object and a key named with a quote, and one whose page path and referrer carry her email
(a signup link's query string). Checked against pandas over the raw file."""

from __future__ import annotations

import json
import re
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from lawn.paths import SEEDS_DIR
from lawn.privacy import erase
from lawn.privacy_maps import EMAIL_SHAPED, normalize
from tests_py.conftest import query, run_dbt
from tests_py.pii_scan import scan_db

FEED = Path(__file__).parent / "fixtures" / "governance"
PLAN = SEEDS_DIR / "tracking_plan" / "tracking_plan_properties.csv"
# Ann's values as the feed spells them (the planted truth of the erasure)
ANN_IDS = {
    "user_id": {"usr_ann"},
    "anonymous_id": {"anon-7f3a"},
    "device_id": {"dev-ann-laptop", "dev-ann-phone"},
}
ANN_EMAILS = {"ann.smith@example.com", "annie.s@gmail.com"}
ANN_VALUES = (
    set().union(*ANN_IDS.values())
    | ANN_EMAILS
    | {"Annabel", "Smithers", "203.0.113.77", "2001:db8::a77", "+44 20 7946 0001"}
)
EMAIL_LIKE = re.compile(r"[^@\s\"]+@[^@\s\"]+\.[a-z]{2,}", re.I)


def _email_shaped(value: object) -> bool:
    """A shown text value fct_events leaves out (is_email_shaped's twin: lawn.privacy_maps)."""
    return isinstance(value, str) and "@" in value and bool(EMAIL_SHAPED.search(normalize(value)))


def _raw() -> pd.DataFrame:
    return pd.read_json(FEED / "raw_events.jsonl", lines=True, dtype=False)


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("governance")
    db = work / "lawn.duckdb"
    run_dbt(["build", "--exclude-resource-type", "unit_test"], db, work, raw_dir=FEED)
    return db


def test_marts_show_only_declared_properties_the_plan_does_not_class_personal(built):
    plan = pd.read_csv(PLAN, dtype=str)
    masked = set(plan.loc[plan["pii_class"].isin(["personal", "sensitive"]), "property_name"])
    shown = set(plan["property_name"]) - masked
    raw = _raw().drop_duplicates("event_id").set_index("event_id")
    events = query(built, "select event_id, properties from marts.fct_events").set_index("event_id")
    assert {"e50", "e51", "e52", "e02", "e09"} <= set(events.index)
    for event_id, masked_text in events["properties"].items():
        expected = {
            k: v for k, v in raw.loc[event_id, "properties"].items() if k in shown and not _email_shaped(v)
        }
        assert json.loads(masked_text) == expected, event_id
    # Carol typed her email into a URL: the page path and referrer are left out, key by key
    assert json.loads(events.loc["e52", "properties"]) == {"utm_source": "newsletter"}
    # an email in the context's text fields (an app version, an error message, a platform, a
    # locale): null in fct_events, field by field, as sent in the restricted view
    context = query(
        built,
        "select event_id, platform, app_version, locale, error_code from marts.fct_events "
        "where event_id in ('e53', 'e54') order by event_id",
    )
    assert [[None if pd.isna(v) else v for v in row] for row in context.values.tolist()] == [
        ["e53", "web", None, "en-GB", None],
        ["e54", None, None, None, None],
    ]
    sent = query(
        built,
        "select event_id, platform, app_version, locale, error_code from pii.pii_event_personal_data "
        "where event_id in ('e53', 'e54') order by event_id",
    )
    assert [[None if pd.isna(v) else v for v in row] for row in sent.values.tolist()] == [
        ["e53", "web", "dave@gamma.io", "en-GB", "login failed for Dave@Gamma.io"],
        ["e54", "erin@delta.dev", None, "<erin@delta.dev>", None],
    ]
    # nothing email-like or phone-like in any text column of any analyst mart
    with duckdb.connect(str(built), read_only=True) as con:
        columns = con.execute(
            "select table_name, column_name from information_schema.columns "
            "where table_schema = 'marts' and data_type in ('VARCHAR', 'JSON')"
        ).fetchall()
        for table, column in columns:
            cells = con.execute(f'select cast("{column}" as varchar) from marts."{table}"').fetchall()
            leaks = [c for (c,) in cells if c and (EMAIL_LIKE.search(c) or "7946 0001" in c)]
            assert leaks == [], f"marts.{table}.{column}: {leaks[:2]}"
    # the whole payloads stay in the restricted schema
    whole = query(built, "select properties from pii.pii_event_personal_data where event_id = 'e50'")
    assert json.loads(whole["properties"][0])["phone"] == "+44 20 7946 0001"


def test_erasure_by_an_email_variant_leaves_nothing_and_a_redelivery_stays_out(built, tmp_path):
    raw = _raw()
    own_email = raw["properties"].map(lambda p: normalize(str(p.get("email") or p.get("user_email") or "")))
    theirs = own_email.isin(ANN_EMAILS)
    for column, values in ANN_IDS.items():
        theirs |= raw[column].map(lambda v: normalize(v) if isinstance(v, str) else "").isin(values)
    assert scan_db(built, ANN_VALUES)  # the scan can fail
    result = erase(built, email="  ANN.Smith@EXAMPLE.com ")
    assert result.person_found
    assert result.rows_deleted["raw.raw_events"] == int(theirs.sum())  # 15 of 24 deliveries
    assert scan_db(built, ANN_VALUES) == []
    data = built.read_bytes().lower()  # nor in the file's free blocks
    assert [v for v in ANN_VALUES if v.lower().encode() in data] == []
    # the same raw file delivered again: Ann's rows are withheld, Bob's invitation redacted
    run_dbt(["build", "--exclude-resource-type", "unit_test"], built, tmp_path, raw_dir=FEED)
    assert scan_db(built, ANN_VALUES) == []
    counts = query(
        built,
        "select (select count(*) from raw.raw_events) as raw, "
        "(select count(*) from marts.fct_events) as valid, "
        "(select count(*) from marts.fct_quarantined_events) as quarantined, "
        "(select count(*) from intermediate.int_events_deduplicated where is_redelivery) as duplicates, "
        "(select sum(rows_excluded) from ops.landing_exclusions where reason = 'erased' "
        "  and load_id = (select max(load_id) from ops.landing_exclusions)) as withheld",
    ).iloc[0]
    assert counts["raw"] == len(raw) - int(theirs.sum())
    assert counts["withheld"] == int(theirs.sum())
    assert counts["raw"] == counts["valid"] + counts["quarantined"] + counts["duplicates"]
