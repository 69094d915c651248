"""The nightly's bandit step (lawn/bandit_nightly.py) and its marts.

Fast tests run the step on a hand-built warehouse (the few mart columns it reads, written here
by hand, and the landing tables from their one definition): every assignment traces to its
allocation row and ``verify_allocation`` recomputes it; a re-run of a night gives the same rows
and no second set; the posteriors equal the prior plus credits recomputed here by hand, with
delayed rewards counted only once their window has closed. The dbt tests build the small
world, let the step decide several nights, and check the marts: the outcomes against
``credited_counts``, the readout's IPW against ``ipw_means``, its always-valid comparison
against lawn.readout's mixture SPRT, and the export carries the arm."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from lawn.actions import export_actions
from lawn.bandit import Allocation, BanditSpec, credited_counts, ipw_means, verify_allocation
from lawn.bandit_nightly import run_bandits
from lawn.landing import landing_table
from tests_py.conftest import query, run_dbt

BANDIT = "onboarding_prompt_creative"
ARMS = ("checklist", "sample_invoice", "video_tour")
RULE = "stalled_activation_onboarding"
WINDOW = 3
DAY0 = dt.date(2026, 5, 1)
DAYS = [DAY0 + dt.timedelta(days=i) for i in range(8)]


def _registry(context_column: str = "all") -> pd.DataFrame:
    return pd.DataFrame(
        {
            "bandit_arm_key": [f"{BANDIT}:{arm}" for arm in ARMS],
            "bandit_id": BANDIT,
            "arm": list(ARMS),
            "template_id": [f"tpl-{arm}" for arm in ARMS],
            "rule_id": RULE,
            "reward_moment": "first_invoice_sent",
            "reward_window_days": WINDOW,
            "prior_alpha": 1.0,
            "prior_beta": 1.0,
            "exploration_floor": 0.05,
            "holdout_share": 0.2,
            "context_column": context_column,
            "draws": 500,
            "alpha": 0.05,
            "is_enabled": True,
        }
    )


def _world(path: Path, context_column: str = "all") -> pd.DataFrame:
    """A warehouse with the marts the step reads: 12 onboarding actions a day for 8 days (and
    one suppressed, one of another rule each day), accounts in two segments, and the day
    each account first sent an invoice (some inside the window, some after it, some before
    the decision, most never). Returns the reward days by account."""
    rng = np.random.default_rng(11)
    actions, accounts, reached = [], [], []
    for d, day in enumerate(DAYS):
        for i in range(14):
            account = f"acc-{d:02d}-{i:02d}"
            rule = RULE if i < 13 else "churn_risk_retention"
            actions.append((f"act-{d:02d}-{i:02d}", account, rule, i == 12, day))
            accounts.append((account, "smb" if i % 2 else "enterprise"))
            lag = rng.choice([None, None, None, -1, 0, 1, 2, 3, 4, 6])
            if lag is not None:
                reached.append(("account", "moment", "first_invoice_sent", account,
                                pd.Timestamp(day) + pd.Timedelta(days=int(lag), hours=15)))  # fmt: skip
    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts")
        for name, frame in {
            "dim_bandit_arms": _registry(context_column),
            "fct_next_best_actions": pd.DataFrame(
                actions, columns=["action_id", "account_id", "rule_id", "is_suppressed", "decided_on"]
            )
            .assign(needs_review=False, review_decision=pd.NA)
            .astype({"review_decision": "string"}),
            "dim_accounts": pd.DataFrame(accounts, columns=["account_id", "segment"]),
            "fct_activation": pd.DataFrame(
                reached,
                columns=["entity_type", "milestone_kind", "milestone_name", "account_id", "reached_at"],
            ),
            "fct_account_features_daily": pd.DataFrame({"feature_date": DAYS}),
        }.items():
            con.register("frame", frame)
            con.execute(f"create table marts.{name} as select * from frame")
            con.unregister("frame")
        for relation in ("ml.bandit_allocations", "ml.bandit_assignments", "ops.action_exports",
                         "ops.action_reversals"):  # fmt: skip
            con.execute(landing_table(relation).duckdb_ddl())
    return pd.DataFrame(reached, columns=["t", "k", "m", "account_id", "reached_at"])


def _read(path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    with duckdb.connect(str(path), read_only=True) as con:
        allocations = con.execute(
            "select * from ml.bandit_allocations order by decision_day, context, arm"
        ).df()
        assignments = con.execute("select * from ml.bandit_assignments order by decision_day, action_id").df()
    return allocations.drop(columns="allocated_at"), assignments.drop(columns="assigned_at")


def _nights(path: Path, days=DAYS) -> None:
    for day in days:
        run_bandits(path, as_of=day, max_age_days=0)


@pytest.fixture(scope="module")
def decided(tmp_path_factory) -> tuple[Path, pd.DataFrame]:
    path = tmp_path_factory.mktemp("bandit_world") / "w.duckdb"
    reached = _world(path)
    _nights(path)
    return path, reached


def _allocation(rows: pd.DataFrame) -> Allocation:
    rows = rows.sort_values("arm")
    first = rows.iloc[0]
    return Allocation(
        first["bandit_id"], first["decision_day"], first["context"], tuple(rows["arm"]),
        tuple(rows["posterior_alpha"]), tuple(rows["posterior_beta"]), tuple(rows["prob_best"]),
        tuple(rows["share"]), int(first["seed"]), int(first["draws"]), float(first["exploration_floor"]),
    )  # fmt: skip


def test_every_assignment_traces_to_an_allocation_that_verify_allocation_recomputes(decided):
    allocations, assignments = _read(decided[0])
    # 12 eligible actions a night (the suppressed one and the other rule's are not placed)
    assert len(assignments) == 12 * len(DAYS) and assignments["action_id"].is_unique
    assert not assignments["action_id"].str.endswith(("-12", "-13")).any()
    for (_, day, context), rows in allocations.groupby(["bandit_id", "decision_day", "context"]):
        assert verify_allocation(_allocation(rows)), (day, context)
    joined = assignments.merge(
        allocations, on=["bandit_id", "decision_day", "context", "arm"], how="left", validate="many_to_one"
    )
    assert joined["share"].notna().all()  # every decision has its allocation row
    expected = joined["holdout_share"] / len(ARMS) + (1 - joined["holdout_share"]) * joined["share"]
    np.testing.assert_allclose(joined["propensity"], expected, rtol=0, atol=1e-12)
    # the holdout is uniform: about 20% of units, on every arm
    assert 0.05 < assignments["is_holdout"].mean() < 0.4


def test_posteriors_are_the_prior_plus_rewards_credited_only_after_their_window(decided):
    path, reached = decided
    allocations, assignments = _read(path)
    first_reach = reached.groupby("account_id")["reached_at"].min().dt.normalize()
    for day in DAYS:
        # by hand: decided before the day, window [decision, decision + 3] over by its end
        past = assignments[assignments["decision_day"] < pd.Timestamp(day)].copy()
        decision = pd.to_datetime(past["decision_day"])
        closed = decision + pd.Timedelta(days=WINDOW) <= pd.Timestamp(day)
        reach = past["account_id"].map(first_reach)
        success = (
            closed & reach.notna() & (reach >= decision) & (reach <= decision + pd.Timedelta(days=WINDOW))
        )
        tonight = allocations[allocations["decision_day"] == pd.Timestamp(day)].set_index("arm")
        for arm in ARMS:
            mine = past["arm"] == arm
            assert tonight.loc[arm, "posterior_alpha"] == 1 + int((success & mine).sum()), (day, arm)
            assert tonight.loc[arm, "posterior_beta"] == 1 + int((closed & mine & ~success).sum()), (day, arm)
    # the first nights see no closed window at all: the prior only
    early = allocations[allocations["decision_day"] <= pd.Timestamp(DAYS[WINDOW - 1])]
    assert (early["posterior_alpha"] == 1).all() and (early["posterior_beta"] == 1).all()
    assert allocations["posterior_beta"].max() > 1 and allocations["posterior_alpha"].max() > 1  # they learn


def test_a_rerun_of_a_night_replaces_its_rows_and_the_same_data_gives_the_same_rows(decided, tmp_path):
    path, _ = decided
    before = _read(path)
    run_bandits(path, as_of=DAYS[-1], max_age_days=0)
    run_bandits(path, as_of=DAYS[3], max_age_days=0)  # an older night re-run: its own rows only
    after = _read(path)
    for old, new in zip(before, after, strict=True):
        pd.testing.assert_frame_equal(old, new)
    fresh = tmp_path / "again.duckdb"
    _world(fresh)
    _nights(fresh)
    for old, new in zip(before, _read(fresh), strict=True):
        pd.testing.assert_frame_equal(old, new)


def test_only_actions_the_export_may_still_send_with_an_arm_are_placed(tmp_path):
    """On the third night: act-02-00 already went out without an arm (a `lawn actions export`
    between two nightlies), act-02-01 was reverted before it went out, act-02-02 waits for a
    reviewer and act-02-03 was rejected: none is shown an arm, so none may be placed and
    credited (a probe: 144 armless exported actions got arms). act-02-04 needs review and was
    approved: placed. act-01-00 went out with this bandit's arm on the second night: a re-run
    of that night places it again, with the same arm."""
    path = tmp_path / "w.duckdb"
    _world(path)
    _nights(path, DAYS[:2])
    with duckdb.connect(str(path)) as con:
        arm = con.execute("select arm from ml.bandit_assignments where action_id = 'act-01-00'").fetchone()[0]
        con.execute(
            "insert into ops.action_exports (run_id, action_id, record_type, bandit_id, bandit_arm) values "
            "('manual', 'act-02-00', 'action', null, null), ('night-2', 'act-01-00', 'action', ?, ?)",
            [BANDIT, arm],
        )
        con.execute(
            "insert into ops.action_reversals (action_id, reason) values ('act-02-01', 'wrong account')"
        )
        con.execute(
            "update marts.fct_next_best_actions set needs_review = true, review_decision = case action_id "
            "when 'act-02-03' then 'reject' when 'act-02-04' then 'approve' end "
            "where action_id in ('act-02-02', 'act-02-03', 'act-02-04')"
        )
    before = _read(path)[1]
    run_bandits(path, as_of=DAYS[2], max_age_days=0)
    run_bandits(path, as_of=DAYS[1], max_age_days=0)  # the second night again
    assignments = _read(path)[1]
    third = set(assignments.loc[assignments["decision_day"] == pd.Timestamp(DAYS[2]), "action_id"])
    expected = {f"act-02-{i:02d}" for i in range(12)} - {"act-02-00", "act-02-01", "act-02-02", "act-02-03"}
    assert third == expected
    second = assignments[assignments["decision_day"] == pd.Timestamp(DAYS[1])].reset_index(drop=True)
    pd.testing.assert_frame_equal(
        second, before[before["decision_day"] == pd.Timestamp(DAYS[1])].reset_index(drop=True)
    )
    assert second.set_index("action_id").loc["act-01-00", "arm"] == arm


def test_the_contextual_variant_allocates_per_segment(tmp_path):
    path = tmp_path / "ctx.duckdb"
    _world(path, context_column="segment")
    _nights(path, DAYS[:5])
    allocations, assignments = _read(path)
    assert set(allocations["context"]) == {"enterprise", "smb"}
    with duckdb.connect(str(path), read_only=True) as con:
        segments = con.execute("select account_id, segment from marts.dim_accounts").df()
    merged = assignments.merge(segments, on="account_id")
    assert (merged["context"] == merged["segment"]).all()
    for _, rows in allocations.groupby(["decision_day", "context"]):
        assert verify_allocation(_allocation(rows))
        assert len(rows) == len(ARMS)


def test_a_registry_that_no_longer_fits_its_history_is_a_one_line_error(tmp_path):
    from lawn.bandit import BanditError

    path = tmp_path / "bad.duckdb"
    _world(path)
    _nights(path, DAYS[:2])
    with duckdb.connect(str(path)) as con:  # an arm removed after it was used
        con.execute("delete from marts.dim_bandit_arms where arm = 'video_tour'")
    with pytest.raises(BanditError, match="unknown arms") as caught:
        run_bandits(path, as_of=DAYS[2], max_age_days=0)
    assert "\n" not in str(caught.value)
    with duckdb.connect(str(path)) as con:
        con.execute("update marts.dim_bandit_arms set context_column = 'plan'")
    with pytest.raises(BanditError, match="context_column must be all or segment"):
        run_bandits(path, as_of=DAYS[2], max_age_days=0)
    assert len(_read(path)[1]) == 2 * 12  # nothing of the failed nights was written


def test_credit_uses_the_same_rule_as_credited_counts(decided):
    """The step's credit is lawn.bandit.credited_counts; checked on the last night."""
    path, reached = decided
    allocations, assignments = _read(path)
    day = DAYS[-1]
    first_reach = reached.groupby("account_id")["reached_at"].min()
    past = assignments[assignments["decision_day"] < pd.Timestamp(day)]
    logs = pd.DataFrame(
        {
            "context": past["context"],
            "arm": past["arm"],
            "assigned_on": past["decision_day"],
            "rewarded_on": past["account_id"].map(first_reach).dt.normalize(),
        }
    )
    spec = BanditSpec(BANDIT, ARMS, reward_window_days=WINDOW, draws=500)
    counts = credited_counts(spec, logs, day).set_index("arm")
    tonight = allocations[allocations["decision_day"] == pd.Timestamp(day)].set_index("arm")
    for arm in ARMS:
        assert tonight.loc[arm, "posterior_alpha"] - 1 == counts.loc[arm, "reward"]
        assert tonight.loc[arm, "posterior_beta"] - 1 == counts.loc[arm, "pull"] - counts.loc[arm, "reward"]


def test_ipw_means_is_what_the_readout_restates():
    """A guard for the dbt test below: ipw_means on a hand-written log (two arms, known
    propensities): arm a = (1/0.5 + 0 + 1/0.25) / 4 = 1.5, arm b = (1/0.5) / 4 = 0.5."""
    log = pd.DataFrame(
        {"arm": ["a", "a", "a", "b"], "propensity": [0.5, 0.5, 0.25, 0.5], "reward": [1, 0, 1, 1]}
    )
    got = ipw_means(("a", "b"), log).set_index("arm")["ipw_mean"]
    assert got["a"] == pytest.approx(1.5) and got["b"] == pytest.approx(0.5)


# ---- on a dbt-built world: the marts, the export -------------------------------------------

BANDIT_MARTS = ["source:ml.bandit_allocations+", "source:ml.bandit_assignments+"]


@pytest.fixture(scope="module")
def small_world_bandit(built_small, tmp_path_factory):
    """The small world decided night by night (each action on its own day), the bandit marts
    built, one export; then 300 hand-made assignments of the world's accounts (arms and
    propensities from a fixed rule, decision days spread over the data) are added and the
    marts rebuilt, so that the readout has closed windows with rewards on every arm."""
    work = tmp_path_factory.mktemp("bandit_dbt")
    db = work / "lawn.duckdb"
    shutil.copy(built_small, db)
    decided = query(
        db, f"select min(decided_on) as first from marts.fct_next_best_actions where rule_id = '{RULE}'"
    )
    last = query(db, "select max(feature_date) as last from marts.fct_account_features_daily")["last"][
        0
    ].date()
    day = decided["first"][0].date()
    while day <= last:
        run_bandits(db, as_of=day, max_age_days=0)
        day += dt.timedelta(days=1)
    run_dbt(["build", "--select", *BANDIT_MARTS, "--exclude-resource-type", "unit_test"], db, work)
    export = export_actions(db, work / "exports", "bandit-test", as_of=last, max_age_days=1000)
    sent = pd.read_csv(export.csv_path, dtype=str, keep_default_na=False)
    real = _read(db)
    assignments = query(db, "select * from marts.fct_bandit_assignments")
    accounts = query(db, "select account_id from marts.dim_accounts order by account_id")["account_id"]
    rng = np.random.default_rng(5)
    rows = []
    for i in range(300):
        holdout = bool(rng.random() < 0.2)
        shares = np.array([0.2, 0.3, 0.5]) if i % 2 else np.array([0.6, 0.3, 0.1])
        weights = np.full(3, 1 / 3) if holdout else shares
        arm = int(rng.choice(3, p=weights))
        rows.append({
            "bandit_id": BANDIT, "decision_day": last - dt.timedelta(days=int(rng.integers(0, 50))),
            "action_id": f"hand-{i:03d}", "account_id": accounts[i % len(accounts)], "context": "all",
            "arm": ARMS[arm], "is_holdout": holdout,
            "propensity": float(0.2 / 3 + 0.8 * shares[arm]), "assigned_at": pd.Timestamp("2026-01-01"),
        })  # fmt: skip
    with duckdb.connect(str(db)) as con:
        con.register("hand", pd.DataFrame(rows))
        con.execute(landing_table("ml.bandit_assignments").insert_sql("hand"))
    run_dbt(["build", "--select", *BANDIT_MARTS, "--exclude-resource-type", "unit_test"], db, work)
    return {"db": db, "sent": sent, "real": real, "assignments": assignments, "last": last}


def test_the_export_carries_the_arm_the_bandit_chose(small_world_bandit):
    sent, assignments = small_world_bandit["sent"], small_world_bandit["assignments"]
    actions = sent[sent["record_type"] == "action"]
    mine = actions[actions["rule_id"] == RULE].merge(
        assignments[["action_id", "arm", "template_id"]], on="action_id", how="left"
    )
    assert len(mine) > 0 and mine["arm"].notna().all()
    assert (mine["bandit_arm"] == mine["arm"]).all()
    assert (mine["bandit_template_id"] == mine["template_id"]).all()
    assert (mine["bandit_id"] == BANDIT).all()
    assert (actions.loc[actions["rule_id"] != RULE, "bandit_arm"] == "").all()
    ledger = query(small_world_bandit["db"], "select action_id, bandit_arm from ops.action_exports")
    assert (
        dict(zip(ledger["action_id"], ledger["bandit_arm"], strict=True)).items()
        >= dict(zip(mine["action_id"], mine["arm"], strict=True)).items()
    )
    # every decision the step made traces to an allocation that verify_allocation recomputes
    allocations, placed = small_world_bandit["real"]
    assert len(placed) == len(mine)
    for _, rows in allocations.groupby(["decision_day", "context"]):
        assert verify_allocation(_allocation(rows))


def test_outcomes_mart_credits_as_credited_counts(small_world_bandit):
    db, last = small_world_bandit["db"], small_world_bandit["last"]
    outcomes = query(db, "select * from marts.fct_bandit_outcomes")
    reached = query(
        db,
        "select account_id, reached_at from marts.fct_activation where entity_type = 'account' "
        "and milestone_kind = 'moment' and milestone_name = 'first_invoice_sent'",
    )
    first = reached.set_index("account_id")["reached_at"].dt.normalize()
    window = int(
        query(db, f"select reward_window_days from marts.dim_bandit_arms where bandit_id = '{BANDIT}'").iloc[
            0, 0
        ]
    )
    spec = BanditSpec(BANDIT, ARMS, reward_window_days=window)
    logs = pd.DataFrame({
        "context": outcomes["action_id"], "arm": outcomes["arm"], "assigned_on": outcomes["decision_day"],
        "rewarded_on": outcomes["account_id"].map(first),
    })  # fmt: skip
    counts = credited_counts(spec, logs, last).set_index("context")  # one "context" per action
    by_action = outcomes.set_index("action_id")
    closed = counts["pull"] == 1
    assert (by_action.loc[counts.index, "is_window_closed"] == closed).all()
    assert (by_action.loc[counts.index[closed], "reward"] == counts.loc[closed, "reward"]).all()
    assert by_action.loc[counts.index[~closed], "reward"].isna().all()
    assert closed.sum() > 100 and counts["reward"].sum() > 5 and (~closed).sum() > 0


def test_readout_ipw_equals_ipw_means_and_the_comparison_is_the_experiments_msprt(small_world_bandit):
    from lawn.readout import _sequential

    db = small_world_bandit["db"]
    closed = query(db, "select * from marts.fct_bandit_outcomes where is_window_closed")
    readout = query(db, "select * from marts.fct_bandit_readout").set_index("arm")
    expected = ipw_means(ARMS, closed[["arm", "propensity", "reward"]].astype({"reward": float}))
    expected = expected.set_index("arm")
    np.testing.assert_allclose(
        readout.loc[list(ARMS), "ipw_rate"], expected.loc[list(ARMS), "ipw_mean"], atol=1e-12
    )
    np.testing.assert_allclose(
        readout.loc[list(ARMS), "ipw_se"], expected.loc[list(ARMS), "ipw_se"], atol=1e-12
    )
    holdout = closed[closed["is_holdout"]]["reward"].astype(float)
    tau_scale = 0.1  # var sequential_relative_tau
    for arm in ARMS:
        row = readout.loc[arm]
        mine = closed[closed["arm"] == arm]["reward"].astype(float)
        assert row["naive_rate"] == pytest.approx(mine.mean(), abs=1e-12)
        assert row["holdout_rate"] == pytest.approx(holdout.mean(), abs=1e-12)
        lift = expected.loc[arm, "ipw_mean"] - holdout.mean()
        se = np.sqrt(expected.loc[arm, "ipw_se"] ** 2 + holdout.var(ddof=1) / len(holdout))
        want = _sequential(lift, se, tau_scale * holdout.mean(), float(row["alpha"]))
        for column, value in want.items():
            assert row[column] == pytest.approx(value, rel=1e-9, abs=1e-12), (arm, column)
    assert readout["sequential_p_value"].notna().all()


def test_the_report_frames_and_plot(small_world_bandit):
    from lawn.bandit_report import allocation_plot, load_bandit_report

    db = small_world_bandit["db"]
    report = load_bandit_report(db)
    allocations, _ = small_world_bandit["real"]
    # one row per allocation row the step wrote; shares as written
    mine = report.allocation.merge(allocations, on=["bandit_id", "decision_day", "context", "arm"])
    assert len(report.allocation) == len(allocations) == len(mine)
    np.testing.assert_allclose(mine["share_x"], mine["share_y"], rtol=0, atol=0)
    # decisions per day and arm = the landing rows counted in pandas (hand-made ones included)
    landing = query(db, "select decision_day, arm from ml.bandit_assignments")
    counted = landing.groupby(["decision_day", "arm"]).size().rename("n").reset_index()
    got = report.decisions.merge(counted, on=["decision_day", "arm"], how="outer")
    assert (got["actions"] == got["n"]).all()
    assert set(report.readout["arm"]) == set(ARMS)
    assert allocation_plot(report, BANDIT).startswith(b"\x89PNG")
    assert allocation_plot(report, "no_such_bandit").startswith(b"\x89PNG")
