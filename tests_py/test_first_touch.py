"""The funnel's first-touch source: the utm_source of the earliest page view (occurred_at,
then event_id) with a non-empty utm_source of the people whose first signup was on the account, `direct`
if none (models/marts/metrics/fct_funnel.sql), checked on a hand-written feed (raw envelope and
tracking plan, not lawn's generator) against a pandas computation:
- day 1: a visitor (anon_p, no user yet) lands from the newsletter; Ann signs up on acc_1 and
  views two pages at the same instant (google, then bing by event_id); Bob signs up on acc_1
  and views a page without a utm_source, one with an empty one, then one from linkedin;
  Carl signs up on acc_2 and views a page without any utm_source;
- day 2: Pat signs up on acc_3 on the visitor's browser (the newsletter view becomes hers);
  Bob's page view from February 28 (twitter) arrives late: earlier than every stored one;
  Ann views a page from yahoo (later than her first).

The funnel's accounts per source equal pandas' after day 1 and after day 2 (acc_1 google then
twitter, acc_2 direct, acc_3 newsletter), and the two-step build equals a full refresh.
Reversing the order in the mart's first-touch ranking fails the first test (tried by hand
when the test was written)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from tests_py.conftest import query
from tests_py.test_incremental_identity import _event, build_two_steps, except_all_counts

ARGS = ["build", "--select", "+fct_funnel", "+pii_identifiers", "--exclude", "test_type:data",
        "test_type:unit"]  # fmt: skip


def _view(event_id, occurred, received, anon, user, account, **utm):
    """A page view; times as `MM-DDTHH:MM:SS` of 2026, UTC."""
    return _event(event_id, "page_viewed", f"2026-{occurred}Z", f"2026-{received}Z", anon,
                  f"dev_{anon}", user, account, page_path="/", **utm)  # fmt: skip


def _signup(event_id, at, anon, user, account, email):
    return _event(event_id, "signed_up", f"2026-{at}:00Z", f"2026-{at}:01Z", anon, f"dev_{anon}",
                  user, account, email=email, signup_method="email")  # fmt: skip


DAY_1 = [
    _view("f01", "03-01T08:00:00", "03-01T08:00:01", "anon_p", "", "", utm_source="newsletter"),
    _signup("f02", "03-01T09:00", "anon_a", "u_ann", "acc_1", "ann@one.io"),
    _view("f04", "03-01T09:05:00", "03-01T09:05:02", "anon_a", "u_ann", "acc_1", utm_source="bing"),
    _view("f03", "03-01T09:05:00", "03-01T09:05:01", "anon_a", "u_ann", "acc_1", utm_source="google"),
    _signup("f05", "03-02T09:00", "anon_b", "u_bob", "acc_1", "bob@one.io"),
    _view("f06", "03-02T09:01:00", "03-02T09:01:01", "anon_b", "u_bob", "acc_1"),
    _view("f07", "03-02T09:02:00", "03-02T09:02:01", "anon_b", "u_bob", "acc_1", utm_source=""),
    _view("f08", "03-03T09:00:00", "03-03T09:00:01", "anon_b", "u_bob", "acc_1", utm_source="linkedin"),
    _signup("f09", "03-03T10:00", "anon_c", "u_carl", "acc_2", "carl@two.io"),
    _view("f10", "03-03T10:01:00", "03-03T10:01:01", "anon_c", "u_carl", "acc_2"),
]  # fmt: skip
DAY_2 = [
    _signup("f11", "03-10T09:00", "anon_p", "u_pat", "acc_3", "pat@three.io"),
    _view("f12", "02-28T12:00:00", "03-10T09:30:00", "anon_b", "u_bob", "acc_1", utm_source="twitter"),
    _view("f13", "03-10T10:00:00", "03-10T10:00:01", "anon_a", "u_ann", "acc_1", utm_source="yahoo"),
]  # fmt: skip


@pytest.fixture(scope="module")
def worlds(tmp_path_factory):
    work = tmp_path_factory.mktemp("first_touch")
    one_step, two_steps, after_first = build_two_steps(work, ARGS, DAY_1, DAY_1 + DAY_2)
    return work, one_step, two_steps, after_first


def _source_by_account(db_path: Path) -> dict[str, str]:
    """The expected funnel source per account, in pandas: the earliest first touch of the
    persons who signed up on the account (int_moments_reached's user signups)."""
    signups = query(db_path, "select entity_id as person_id, account_id from"
                             " intermediate.int_moments_reached where entity_type = 'user'"
                             " and moment_name = 'user_signed_up'")  # fmt: skip
    events = query(db_path, "select person_id, event_id, event_name, occurred_at, properties"
                            " from intermediate.int_events_attributed")  # fmt: skip
    events["utm"] = events.properties.map(lambda text: json.loads(text or "{}").get("utm_source"))
    views = events[(events.event_name == "page_viewed") & events.utm.notna() & (events.utm != "")]
    joined = views.merge(signups, on="person_id").sort_values(["occurred_at", "event_id"])
    firsts = joined.groupby("account_id").first().utm.to_dict()
    return {account: firsts.get(account, "direct") for account in signups.account_id.unique()}


def _mart_source_by_account(db_path: Path) -> dict[str, str]:
    """fct_funnel's first_touch_source per account, through the account's cohort columns
    (the feed's accounts each have their own signup week)."""
    milestones = query(
        db_path,
        "select distinct entity_id as account_id, cast(cohort_week as varchar) as cohort_week,"
        " segment, acquisition_channel from intermediate.int_activation_milestones"
        " where entity_type = 'account' and milestone_kind = 'moment'",
    )
    assert not milestones.duplicated(["cohort_week", "segment", "acquisition_channel"]).any()
    funnel = query(db_path, "select distinct cast(cohort_week as varchar) as cohort_week, segment,"
                            " acquisition_channel, first_touch_source from marts.fct_funnel")  # fmt: skip
    merged = milestones.merge(funnel, on=["cohort_week", "segment", "acquisition_channel"])
    return merged.groupby("account_id").first_touch_source.agg(lambda s: ",".join(sorted(s))).to_dict()


def test_each_account_gets_the_first_touch_of_its_people(worlds):
    _, one_step, two_steps, after_first = worlds
    assert _source_by_account(two_steps) == {"acc_1": "twitter", "acc_2": "direct", "acc_3": "newsletter"}
    assert _source_by_account(after_first) == {"acc_1": "google", "acc_2": "direct"}
    for db in (one_step, two_steps, after_first):
        assert _mart_source_by_account(db) == _source_by_account(db)
        counts = query(db, "select first_touch_source, sum(cohort_accounts) as n from marts.fct_funnel"
                           " where funnel_step = 1 group by 1")  # fmt: skip
        expected = pd.Series(_source_by_account(db)).value_counts()
        assert dict(zip(counts.first_touch_source, counts.n, strict=True)) == expected.to_dict()


def test_the_increment_equals_a_full_refresh(worlds):
    _, one_step, two_steps, _ = worlds
    only_two, only_one, rows = except_all_counts(two_steps, one_step, "marts.fct_funnel")
    assert (only_two, only_one) == (0, 0) and rows > 0
