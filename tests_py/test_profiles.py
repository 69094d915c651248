"""dim_accounts and dim_users against expectations computed here from the raw file and the
planted truth."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from lawn.tracking_plan import load_tracking_plan
from tests_py.conftest import query
from tests_py.expectations import parse_utc

PLAN = load_tracking_plan()
WEIGHTS = pd.read_csv("seeds/identity/identity_match_weights.csv").set_index(["comparison", "level"])


def test_account_mrr_and_plan_equal_the_true_mrr_history(built_small, small_data, valid_events):
    ledger = small_data.truth["mrr_movements"]
    dirt = small_data.truth["dirt"]
    dirty = set(dirt.loc[dirt["event_name"] == "plan_changed", "event_id"])
    raw = small_data.raw["raw_events"]
    dirty_accounts = set(raw.loc[raw["event_id"].isin(dirty), "account_id"])
    truth_now = ledger.groupby("account_id").last()
    accounts = query(
        built_small, "select account_id, plan, mrr_usd, arr_usd from marts.dim_accounts"
    ).set_index("account_id")
    checked = 0
    for account_id, row in truth_now.iterrows():
        if account_id in dirty_accounts:
            continue
        assert float(accounts.loc[account_id, "mrr_usd"]) == pytest.approx(row["mrr_after_usd"]), account_id
        assert float(accounts.loc[account_id, "arr_usd"]) == pytest.approx(12 * row["mrr_after_usd"])
        assert accounts.loc[account_id, "plan"] == row["plan"], account_id
        checked += 1
    assert checked >= 5
    never_paid = set(accounts.index) - set(ledger["account_id"])
    assert (accounts.loc[sorted(never_paid), "mrr_usd"] == 0).all()


def test_account_nps_equals_pandas(built_small, valid_events):
    nps = valid_events[valid_events["event_name"] == "nps_submitted"].copy()
    nps["score"] = nps["props"].map(lambda p: p["score"])
    expected = nps.groupby("account_id")["score"].agg(["mean", "size"])
    actual = query(
        built_small,
        "select account_id, average_nps_score, nps_responses from marts.dim_accounts where nps_responses > 0",
    ).set_index("account_id")
    assert len(actual) == len(expected) > 0
    joined = actual.join(expected)
    assert joined["average_nps_score"].to_numpy() == pytest.approx(joined["mean"].to_numpy())
    assert (joined["nps_responses"] == joined["size"]).all()


def test_user_identifier_counts_match_truth(built_small, small_data):
    """For identified persons, user_ids per person equals the true person's user_ids seen."""
    users = query(
        built_small, "select primary_user_id, user_id_count from marts.dim_users where is_identified"
    )
    identities = query(
        built_small, "select identifier_value from marts.dim_identifiers where identifier_type = 'user_id'"
    )["identifier_value"]
    truth = small_data.truth["identities"]
    truth_users = truth[(truth["identifier_type"] == "user_id") & truth["identifier_value"].isin(identities)]
    per_person = truth_users.groupby("person_id").size()
    owner = truth_users.set_index("identifier_value")["person_id"]
    users["expected"] = users["primary_user_id"].map(owner).map(per_person)
    assert (users["user_id_count"] == users["expected"]).all()


def test_match_probabilities_follow_fellegi_sunter(built_small):
    """Recompute every pair's probability from its levels, the seed's m/u and the prior."""
    scores = query(
        built_small,
        "select full_name_level, email_local_part_level, email_domain_level, activity_level, "
        "device_level, match_probability, match_decision from intermediate.int_identity_match_scores",
    )
    assert len(scores) > 0
    prior = 0.01
    for row in scores.itertuples():
        weight = math.log2(prior / (1 - prior))
        for comparison, level in (
            ("full_name", row.full_name_level),
            ("email_local_part", row.email_local_part_level),
            ("email_domain", row.email_domain_level),
            ("activity", row.activity_level),
            ("device", row.device_level),
        ):
            m, u = WEIGHTS.loc[(comparison, level), ["m_probability", "u_probability"]]
            weight += math.log2(m / u)
        probability = 2**weight / (1 + 2**weight)
        assert row.match_probability == pytest.approx(probability)
        never_merged = row.email_local_part_level in ("numbered_variant", "name_variant", "same_mailbox")
        merge = probability >= 0.95 and not never_merged
        expected = "merge" if merge else "review" if probability >= 0.5 else "distinct"
        assert row.match_decision == expected


def _person_of_user(small_data) -> pd.Series:
    truth = small_data.truth["identities"]
    return truth[truth["identifier_type"] == "user_id"].set_index("identifier_value")["person_id"]


def test_user_signup_and_activation_times_equal_pandas(built_small, small_data, valid_events):
    owner = _person_of_user(small_data)
    events = valid_events.assign(
        person=valid_events["user_id"].map(owner), at=valid_events["occurred_at"].map(parse_utc)
    )
    signups = events[events["event_name"] == "signed_up"].groupby("person")["at"].min()
    invoices = events[
        (events["event_name"] == "feature_used")
        & (events["props"].map(lambda p: p.get("feature_name")) == "create_invoice")
    ]
    activations = invoices.groupby("person")["at"].min()
    users = query(
        built_small,
        "select primary_user_id, signed_up_at, activated_at, activation_state "
        "from marts.dim_users where is_identified",
    )
    users["person"] = users["primary_user_id"].map(owner)
    for row in users.itertuples():
        expected_signup = signups.get(row.person)
        assert (pd.isna(row.signed_up_at) and expected_signup is None) or row.signed_up_at == expected_signup
        expected_activation = activations.get(row.person)
        if expected_activation is None:
            assert pd.isna(row.activated_at)
            assert row.activation_state == ("identified" if expected_signup is None else "signed_up")
        else:
            assert row.activated_at == expected_activation and row.activation_state == "activated"


def test_account_seats_tickets_and_people_equal_pandas(built_small, small_data, valid_events):
    owner = _person_of_user(small_data)
    events = valid_events.assign(at=valid_events["occurred_at"].map(parse_utc))
    with_account = events[events["account_id"].notna()]
    data_end = with_account["at"].max()
    v2 = with_account[
        (with_account["event_name"] == "plan_changed") & (with_account["schema_version"] == "2")
    ]
    seats = v2.sort_values("at").groupby("account_id")["props"].last().map(lambda p: p["seats"])
    tickets = with_account[
        (with_account["event_name"] == "support_ticket_created")
        & (with_account["at"] >= data_end - pd.Timedelta(days=14))
    ]
    open_tickets = tickets.groupby("account_id").size()
    recent = with_account[with_account["at"] >= data_end - pd.Timedelta(days=30)]
    active = recent.assign(person=recent["user_id"].map(owner)).dropna(subset=["person"])
    active_people = active.groupby("account_id")["person"].nunique()
    accounts = query(
        built_small,
        "select account_id, seats, open_support_tickets, active_people_30d from marts.dim_accounts",
    ).set_index("account_id")
    for account_id, row in accounts.iterrows():
        expected_seats = seats.get(account_id)
        assert (pd.isna(row["seats"]) and expected_seats is None) or row["seats"] == expected_seats, (
            account_id
        )
        assert row["open_support_tickets"] == open_tickets.get(account_id, 0), account_id
        assert row["active_people_30d"] == active_people.get(account_id, 0), account_id
    assert open_tickets.sum() > 0 and active_people.sum() > 0
