"""The generator: deterministic, realistic, clean where it should be, dirty where planted."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pandas as pd
import pytest

from lawn.generator import DirtRates, GeneratorConfig, generate
from lawn.generator.config import EXPECTED_REASON
from lawn.generator.events import unit_uniform
from lawn.generator.programs import build_experiments
from lawn.tracking_plan import load_tracking_plan
from tests_py.conftest import SMALL
from tests_py.expectations import expected_verdicts

PLAN = load_tracking_plan()


def test_same_seed_and_size_give_identical_output(small_data):
    again = generate(SMALL)
    for name, frame in small_data.raw.items():
        pd.testing.assert_frame_equal(frame, again.raw[name], obj=name)
    for name, frame in small_data.truth.items():
        pd.testing.assert_frame_equal(frame, again.truth[name], obj=name)


def test_another_seed_gives_other_data(small_data):
    other = generate(GeneratorConfig(seed=SMALL.seed + 1, accounts=5, days=30))
    assert set(other.raw["raw_events"]["event_id"]).isdisjoint(small_data.raw["raw_events"]["event_id"])


def test_clean_run_has_no_invalid_event_and_no_redelivery():
    data = generate(GeneratorConfig(seed=3, accounts=10, days=45, dirt=DirtRates().scaled(0)))
    verdicts = expected_verdicts(data.raw["raw_events"], PLAN)
    bad = verdicts[verdicts["expected_reasons"].map(len) > 0]
    assert bad.empty, bad[["event_name", "properties", "expected_reasons"]].head().to_string()
    assert not verdicts["is_redelivery"].any()
    assert data.truth["dirt"].empty


def test_every_planted_invalidating_dirt_breaks_exactly_its_rule(small_data):
    """Restating the rules in Python: each planted kind yields exactly its expected code."""
    raw = small_data.raw["raw_events"]
    dirt = small_data.truth["dirt"]
    verdicts = expected_verdicts(raw, PLAN)
    first = verdicts[~verdicts["is_redelivery"]].set_index("event_id")
    planted = dirt[dirt["expected_reason_code"].notna()]
    assert set(planted["dirt_kind"]) == set(EXPECTED_REASON), "every invalidating kind is planted"
    for row in planted.itertuples():
        assert first.loc[row.event_id, "expected_reasons"] == {row.expected_reason_code}, row
    invalid_ids = set(first.index[first["expected_reasons"].map(len) > 0])
    assert invalid_ids == set(planted["event_id"]), "no event is invalid that was not planted"


def test_dirt_rates_are_honoured_roughly():
    rates = DirtRates().with_overrides({"duplicate": 0.05, "wrong_type": 0.02})
    data = generate(GeneratorConfig(seed=11, accounts=20, days=60, dirt=rates))
    counts = Counter(data.truth["dirt"]["dirt_kind"])
    clean_events = len(data.raw["raw_events"]) - counts["duplicate"]
    assert counts["duplicate"] / clean_events == pytest.approx(0.05, abs=0.01)
    assert counts["wrong_type"] / clean_events == pytest.approx(0.02, abs=0.006)


def test_redeliveries_repeat_an_event_later_with_the_same_payload(small_data):
    raw = small_data.raw["raw_events"]
    dupes = small_data.truth["dirt"].query("dirt_kind == 'duplicate'")["event_id"]
    assert len(dupes) > 0
    for event_id in dupes.head(20):
        rows = raw[raw["event_id"] == event_id].sort_values("received_at")
        assert len(rows) == 2
        assert rows.iloc[0]["properties"] == rows.iloc[1]["properties"]
        assert rows.iloc[0]["received_at"] < rows.iloc[1]["received_at"]


def test_planted_truth_names_a_person_for_every_identifier_seen(small_data):
    raw = small_data.raw["raw_events"]
    identities = small_data.truth["identities"]
    known = set(zip(identities["identifier_type"], identities["identifier_value"], strict=True))
    for column in ("anonymous_id", "device_id", "user_id"):
        seen = set(raw[column].dropna())
        missing = {value for value in seen if (column, value) not in known}
        assert not missing, f"{column}: {sorted(missing)[:5]}"
    shared = identities[identities["identifier_type"] == "device_id"].groupby("identifier_value")["person_id"]
    assert (shared.nunique() > 1).any(), "some devices are shared by several people"


def test_emails_arrive_with_case_and_whitespace_noise(small_data):
    raw = small_data.raw["raw_events"]
    emails = [
        json.loads(p).get("email")
        for p in raw.loc[raw["event_name"] == "identified", "properties"]
        if p.endswith("}")
    ]
    emails = [e for e in emails if isinstance(e, str)]  # planted wrong types aside
    noisy = [e for e in emails if e != e.strip() or e != e.lower()]
    assert 0 < len(noisy) < len(emails)


def test_mrr_truth_matches_the_plan_changed_events(small_data):
    """Every MRR movement in the ledger is visible as a plan_changed event with that MRR
    (accounts where dirt hit a plan_changed event are skipped), and movements chain."""
    raw = small_data.raw["raw_events"]
    dirt = small_data.truth["dirt"]
    dirty_ids = set(dirt.loc[dirt["event_name"] == "plan_changed", "event_id"])
    dirty_accounts = set(raw.loc[raw["event_id"].isin(dirty_ids), "account_id"])
    changes = raw[raw["event_name"] == "plan_changed"]
    clean = changes[~changes["event_id"].isin(dirty_ids)]
    emitted = Counter(
        (row.account_id, round(json.loads(row.properties)["mrr_usd"], 2)) for row in clean.itertuples()
    )
    ledger = small_data.truth["mrr_movements"]
    assert set(ledger["movement"]) <= {"new", "expansion", "contraction", "churn", "reactivation"}
    checked = 0
    for row in ledger[~ledger["account_id"].isin(dirty_accounts)].itertuples():
        assert emitted[(row.account_id, round(row.mrr_after_usd, 2))] > 0, row
        checked += 1
    assert checked > 10
    for _, moves in ledger.groupby("account_id"):
        after = moves["mrr_after_usd"].to_numpy()[:-1]
        before = moves["mrr_before_usd"].to_numpy()[1:]
        assert np.allclose(after, before), "each movement starts where the previous ended"


def test_experiment_assignment_is_balanced_and_stable():
    experiment = build_experiments(SMALL)[0]
    variants = Counter(experiment.variant(f"usr_{n}") for n in range(20000))
    assert variants["holdout"] / 20000 == pytest.approx(0.10, abs=0.01)
    assert variants["control"] / 20000 == pytest.approx(0.45, abs=0.015)
    assert experiment.variant("usr_42") == experiment.variant("usr_42")
    assert 0 <= unit_uniform("a", "b") < 1


def test_experiments_rollout_and_registry_are_written(small_data):
    exposures = small_data.raw["raw_events"].query("event_name == 'experiment_exposed'")
    ids = {json.loads(p).get("experiment_id") for p in exposures["properties"] if p.endswith("}")}
    assert {"exp_onboarding_checklist", "exp_annual_plan_nudge"} <= ids
    registry = small_data.raw["experiment_registry"]
    assert set(registry["randomization_unit"]) == {"user", "account"}
    assert (registry["planned_sample_size_per_arm"] > 0).all()
    rollout = generate(GeneratorConfig(seed=5, accounts=60, days=120)).truth["rollout"]
    assert rollout["cohort"].nunique() == 3
    assert rollout.groupby("cohort")["true_lift"].nunique().eq(1).all()


def test_both_live_versions_of_an_event_are_sent(small_data):
    raw = small_data.raw["raw_events"]
    versions = set(raw.loc[raw["event_name"] == "feature_used", "schema_version"])
    assert versions == {"1", "2"}


@pytest.mark.parametrize("bad", [{"accounts": 0}, {"days": 10}])
def test_config_rejects_nonsense(bad):
    with pytest.raises(ValueError):
        GeneratorConfig(**bad)


def test_dirt_overrides_reject_unknown_kinds_and_bad_rates():
    with pytest.raises(ValueError, match="unknown dirt kind"):
        DirtRates().with_overrides({"gremlins": 0.1})
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        DirtRates().with_overrides({"duplicate": 1.5})
