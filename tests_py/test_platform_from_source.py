"""An event's platform is its context's `platform`, else the source that sent it when that is
a client (web, ios, android); a backend event without one has none. A CSV export of app events
often carries no context at all: before, such a signup on iOS read `unknown` in fct_activation
(and null in fct_events), so activation by platform put every such signup in `unknown`.

Hand-written signups (raw envelope, not lawn's generator), one per account, and a backend
page view; the expected platform is computed here from the raw rows by the rule above, and
compared with fct_events and fct_activation. On the old code (platform = context's only) the
first test fails (acc_ios, acc_android, acc_empty read null / unknown)."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from tests_py.conftest import query, run_dbt

ARGS = ["build", "--select", "+fct_activation", "+fct_events", "--exclude", "test_type:data",
        "test_type:unit"]  # fmt: skip
CLIENTS = {"web", "ios", "android"}


def _row(event_id: str, name: str, source: str, context: str, user: str, account: str, **props) -> dict:
    return {
        "event_id": event_id,
        "event_name": name,
        "schema_version": "1",
        "source": source,
        "occurred_at": "2026-03-02T09:00:00Z",
        "received_at": "2026-03-02T09:00:01Z",
        "anonymous_id": f"anon_{user}",
        "device_id": "",
        "user_id": user,
        "account_id": account,
        "context": context,
        "properties": json.dumps(props),
    }


def _signup(event_id: str, source: str, context: str, user: str, account: str) -> dict:
    return _row(event_id, "signed_up", source, context, user, account,
                email=f"{user}@{account}.io", signup_method="email")  # fmt: skip


ROWS = [
    _signup("p01", "ios", "", "u_ios", "acc_ios"),  # an app export without any context
    _signup("p02", "android", "{}", "u_android", "acc_android"),  # an empty context object
    _signup("p03", "web", json.dumps({"platform": ""}), "u_empty", "acc_empty"),  # an empty platform
    _signup("p04", "web", json.dumps({"platform": "ios"}), "u_webview", "acc_webview"),  # context wins
    _signup("p05", "backend", "", "u_server", "acc_server"),  # created by the backend: no client
    _row("p06", "page_viewed", "backend", "", "u_server", "acc_server", page_path="/"),
]


def _expected_platform(row: dict) -> str | None:
    """The context's platform when it is a non-empty text, else a client source, else none."""
    context = json.loads(row["context"]) if row["context"] else {}
    return context.get("platform") or (row["source"] if row["source"] in CLIENTS else None)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    work = tmp_path_factory.mktemp("platform_from_source")
    raw = work / "raw"
    raw.mkdir()
    pd.DataFrame(ROWS).to_csv(raw / "raw_events.csv", index=False)
    db_path = work / "lawn.duckdb"
    run_dbt(ARGS, db_path, work, raw_dir=raw)
    return db_path


def test_an_event_without_a_context_platform_takes_its_client_source(built):
    events = query(built, "select event_id, platform from marts.fct_events")
    got = {r.event_id: (None if pd.isna(r.platform) else r.platform) for r in events.itertuples()}
    assert got == {row["event_id"]: _expected_platform(row) for row in ROWS}
    assert got["p01"] == "ios" and got["p04"] == "ios" and got["p06"] is None


def test_activation_by_platform_reads_the_signup_platform(built):
    """fct_activation's platform is the signup's, `unknown` when it has none (the backend's)."""
    activation = query(
        built,
        "select distinct entity_id, platform from marts.fct_activation where entity_type = 'account'",
    )
    got = dict(zip(activation.entity_id, activation.platform, strict=True))
    signups = [row for row in ROWS if row["event_name"] == "signed_up"]
    assert got == {row["account_id"]: _expected_platform(row) or "unknown" for row in signups}
