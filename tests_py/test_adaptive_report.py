"""The nightly report's adaptive-decision sections (issue 14.4): uplift (Qini curve, AUUC) and
bandits (allocation over time, posteriors with intervals, regret estimated by IPW), written by
lawn/report_adaptive.py from lawn/bandit_report.py and lawn/uplift_report.py.

Fast tests use the hand-written warehouse of tests_py/adaptive_fixture.py; every figure is
recomputed there independently: shares counted from the assignments, Beta intervals by numerical
integration of the density, regret by explicit loops over rewards and propensities, the Qini
curve by subsetting the top-k accounts; the regret estimate is also checked against the regret
the planted rates give. The last test renders a real nightly report (small world, bandit
nights, an uplift model) in headless Chromium."""

from __future__ import annotations

import datetime as dt
import re
import shutil

import duckdb
import numpy as np
import pandas as pd
import pytest

from lawn import bandit_report, report_adaptive
from lawn.uplift_model import is_held_out, train
from tests_py import cadence_fixture as fx
from tests_py.adaptive_fixture import (
    LAST,
    NIGHTS,
    RATES,
    after,
    bandit_world,
    beta_interval,
    md_table,
    num,
    part_lines,
    qini_by_subsets,
    regret_by_hand,
    uplift_examples,
    write_world,
)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("adaptive")
    frames = bandit_world()
    db = write_world(root / "w.duckdb", frames)
    return {"db": db, "frames": frames, "part": report_adaptive.bandit_part(db), "root": root}


# ---------------------------------------------------------------- nightly: bandit section


def test_allocation_shares_and_posteriors_equal_a_hand_computation(world):
    lines = part_lines(world["part"])
    truth = world["frames"]["truth"]
    allocation = world["frames"]["marts.fct_bandit_arms_daily"]
    for bandit_id in RATES:
        start = after(lines, f"### {bandit_id}: 12 nights")
        shares, end = md_table(lines, start)
        assert sorted(set(shares["decision_day"])) == [str(d) for d in NIGHTS[-7:]]
        mine = truth[truth["bandit_id"] == bandit_id]
        counted = mine.groupby(["decision_day", "context"])["arm"].value_counts(normalize=True)
        for row in shares.itertuples():
            day = dt.date.fromisoformat(row.decision_day)
            key = (bandit_id, day, row.context, row.arm)
            want = allocation.set_index(["bandit_id", "decision_day", "context", "arm"]).loc[[key]]
            assert float(row.share) == pytest.approx(want["share"].iloc[0], abs=5e-4)
            assert float(row.realised_share) == pytest.approx(
                counted.get((day, row.context, row.arm), 0.0), abs=5e-4
            )
        posteriors, _ = md_table(lines, end)
        assert set(posteriors["decision_day"]) == {str(LAST)}
        for row in posteriors.itertuples():
            a, b = float(row.posterior_alpha), float(row.posterior_beta)
            low, high = beta_interval(a, b)
            assert float(row.posterior_mean) == pytest.approx(a / (a + b), abs=5e-4)
            assert float(row.interval_low) == pytest.approx(low, abs=5e-4)
            assert float(row.interval_high) == pytest.approx(high, abs=5e-4)
            assert float(row.interval_low) < float(row.posterior_mean) < float(row.interval_high)


def test_regret_equals_loops_over_rewards_and_propensities(world):
    frames = world["frames"]
    expected = regret_by_hand(frames["marts.fct_bandit_outcomes"], frames["marts.fct_bandit_arms_daily"])
    got = bandit_report.regret_by_day(bandit_report.load_bandit_report(world["db"]))
    assert len(got) == len(expected) == 2 * len(NIGHTS)
    for row in got.itertuples():
        bandit, uniform, holdout = expected[(row.bandit_id, pd.Timestamp(row.decision_day).date())]
        assert row.bandit_regret == pytest.approx(bandit, abs=1e-9)
        assert row.uniform_regret == pytest.approx(uniform, abs=1e-9)
        assert row.holdout_regret == pytest.approx(holdout, abs=1e-9)
    lines = part_lines(world["part"])
    for bandit_id in RATES:
        nights = sorted(k for k in expected if k[0] == bandit_id)
        total = np.cumsum([expected[k] for k in nights], axis=0)
        block = lines[after(lines, f"### {bandit_id}") :]
        sentence = block[after(block, "Cumulative regret estimated by IPW")]
        assert (
            f"bandit {total[-1][0]:.2f}, uniform allocation {total[-1][1]:.2f} ({total[-1][2]:.2f} by the "
            "uniform holdout's observed rate" in sentence
        )
        assert "inverse-propensity weighting" in sentence
        table, _ = md_table(block, after(block, "Cumulative regret estimated by IPW"))
        assert np.allclose(num(table["cumulative_bandit_regret"]), total[-7:, 0], atol=5e-4)
        assert np.allclose(num(table["cumulative_uniform_regret"]), total[-7:, 1], atol=5e-4)
        assert np.allclose(num(table["cumulative_holdout_regret"]), total[-7:, 2], atol=5e-4)
    assert sum(name.endswith("_regret") for name in world["part"].plots) == 2
    # one allocation plot per bandit and context, one regret plot per bandit
    assert len(world["part"].plots) == 3 + 2
    assert all(png[:8] == b"\x89PNG\r\n\x1a\n" for png in world["part"].plots.values())


def test_regret_estimate_recovers_the_planted_regret():
    """Many units: the IPW regret estimate is close to the regret the planted rates give."""
    frames = bandit_world(units=3000, seed=9)
    report = bandit_report.BanditReport(
        frames["marts.fct_bandit_arms_daily"], frames["marts.fct_bandit_readout"], pd.DataFrame(),
        frames["marts.fct_bandit_outcomes"],
    )  # fmt: skip
    regret = bandit_report.regret_by_day(report)
    truth = frames["truth"]
    best = truth.groupby(["bandit_id", "context"])["true_rate"].transform("max")
    truth = truth.assign(regret=best - truth["true_rate"])
    for bandit_id, rows in truth.groupby("bandit_id"):
        estimated = regret.loc[regret["bandit_id"] == bandit_id, "cumulative_bandit_regret"].iloc[-1]
        assert estimated == pytest.approx(rows["regret"].sum(), rel=0.06), bandit_id
        mean_rate = {ctx: np.mean(list(r.values())) for ctx, r in RATES[bandit_id].items()}
        uniform = sum(
            (max(RATES[bandit_id][ctx].values()) - mean_rate[ctx]) * len(group)
            for ctx, group in rows.groupby("context")
        )
        for column in ("cumulative_uniform_regret", "cumulative_holdout_regret"):
            got = regret.loc[regret["bandit_id"] == bandit_id, column].iloc[-1]
            assert got == pytest.approx(uniform, rel=0.06), (bandit_id, column)
            assert got > estimated  # the planted bandit moves to the best arm: less regret than uniform


def test_an_arm_never_placed_and_a_holdout_without_closed_units(tmp_path):
    """An arm no unit got still counts (IPW rate 0) and a bandit whose holdout has no closed
    unit has no holdout-based uniform figure: said so, not printed as a number."""
    frames = bandit_world()
    outcomes = frames["marts.fct_bandit_outcomes"]
    prompt = outcomes["bandit_id"] == "prompt"
    outcomes = outcomes[~(prompt & (outcomes["is_holdout"] | (outcomes["arm"] == "checklist")))]
    allocation = frames["marts.fct_bandit_arms_daily"].copy()
    counts = outcomes.groupby(["bandit_id", "decision_day", "context", "arm"]).size()
    keys = pd.MultiIndex.from_frame(allocation[["bandit_id", "decision_day", "context", "arm"]])
    allocation["actions_assigned"] = counts.reindex(keys, fill_value=0).to_numpy()
    frames = {**frames, "marts.fct_bandit_outcomes": outcomes, "marts.fct_bandit_arms_daily": allocation}
    db = write_world(tmp_path / "w.duckdb", frames)
    regret = bandit_report.regret_by_day(bandit_report.load_bandit_report(db))
    expected = regret_by_hand(outcomes, allocation)
    for row in regret.itertuples():
        bandit, uniform, holdout = expected[(row.bandit_id, pd.Timestamp(row.decision_day).date())]
        assert row.bandit_regret == pytest.approx(bandit, abs=1e-9)
        assert row.uniform_regret == pytest.approx(uniform, abs=1e-9)
        if row.bandit_id == "prompt":
            assert np.isnan(holdout) and np.isnan(row.cumulative_holdout_regret)
        else:
            assert row.holdout_regret == pytest.approx(holdout, abs=1e-9)
    rates = bandit_report.ipw_rates(bandit_report.load_bandit_report(db).outcomes, allocation).set_index(
        ["bandit_id", "arm"]
    )
    assert rates.loc[("prompt", "checklist"), "ipw_rate"] == 0.0
    lines = part_lines(report_adaptive.bandit_part(db))
    block = lines[after(lines, "### prompt") :]
    sentence = block[after(block, "Cumulative regret estimated by IPW")]
    assert "(none by the uniform holdout (no closed reward window in it))" in sentence


def test_an_arm_added_mid_experiment_is_averaged_over_the_nights_that_offered_it(tmp_path):
    """`video_tour` joins the prompt bandit on its fifth night: the nights before offered only
    the other two arms. Its IPW rate averages over the closed units of the nights that offered
    it, not over every closed unit (those had propensity 0 for it: a probe's new arm read
    0.172 where its rate was 0.4265), and the regret follows (explicit loops in
    regret_by_hand)."""
    frames = bandit_world()
    joined = NIGHTS[4]
    allocation = frames["marts.fct_bandit_arms_daily"]
    before = (allocation["bandit_id"] == "prompt") & (allocation["decision_day"] < joined)
    allocation = allocation[~(before & (allocation["arm"] == "video_tour"))]
    outcomes = frames["marts.fct_bandit_outcomes"]
    early = (outcomes["bandit_id"] == "prompt") & (outcomes["decision_day"] < joined)
    outcomes = outcomes[~(early & (outcomes["arm"] == "video_tour"))]
    frames = {**frames, "marts.fct_bandit_outcomes": outcomes, "marts.fct_bandit_arms_daily": allocation}
    db = write_world(tmp_path / "w.duckdb", frames)
    report = bandit_report.load_bandit_report(db)
    rates = bandit_report.ipw_rates(report.outcomes, report.allocation).set_index(["bandit_id", "arm"])
    closed = outcomes[(outcomes["bandit_id"] == "prompt") & outcomes["is_window_closed"].astype(bool)]
    offered = closed[closed["decision_day"] >= joined]
    tour = offered[offered["arm"] == "video_tour"]
    by_hand = sum(float(r) / p for r, p in zip(tour["reward"], tour["propensity"], strict=True)) / len(
        offered
    )
    row = rates.loc[("prompt", "video_tour")]
    assert int(row.eligible_units) == len(offered) < len(closed)
    assert row.ipw_rate == pytest.approx(by_hand, rel=1e-12)
    assert row.ipw_rate > by_hand * len(offered) / len(closed) + 0.05  # the old average, well below
    assert int(rates.loc[("prompt", "checklist"), "eligible_units"]) == len(closed)
    expected = regret_by_hand(outcomes, allocation)
    for night in bandit_report.regret_by_day(report).itertuples():
        bandit, uniform, _ = expected[(night.bandit_id, pd.Timestamp(night.decision_day).date())]
        assert night.bandit_regret == pytest.approx(bandit, abs=1e-9)
        assert night.uniform_regret == pytest.approx(uniform, abs=1e-9)


def test_no_bandit_and_no_uplift_model_say_so_in_one_line(tmp_path):
    bare = tmp_path / "bare.duckdb"
    fx.write_warehouse(bare, {"marts.fct_data_day": pd.DataFrame({"data_day": [LAST]})})
    part = report_adaptive.sections(bare, tmp_path / "no_store")
    assert report_adaptive.NO_BANDIT in part.markdown and report_adaptive.NO_UPLIFT in part.markdown
    assert not part.plots
    # a live.json naming a version that is not on disk: one line naming it, no crash
    (tmp_path / "store" / "offer").mkdir(parents=True)
    (tmp_path / "store" / "offer" / "live.json").write_text('{"live": "offer-gone", "history": []}')
    lines = report_adaptive.uplift_part(bare, tmp_path / "store").markdown
    assert any(
        line.startswith("uplift model offer offer-gone: cannot be shown (no model version") for line in lines
    )
    empty = {k: v.head(0) for k, v in bandit_world().items()}
    db = write_world(tmp_path / "empty.duckdb", empty)
    assert report_adaptive.NO_BANDIT in report_adaptive.bandit_part(db).markdown
    # nights decided but no reward window closed yet: no regret figure, said in one line
    opened = bandit_world(nights=NIGHTS[-2:])
    part = report_adaptive.bandit_part(write_world(tmp_path / "open.duckdb", opened))
    assert sum("no reward window has closed yet" in line for line in part.markdown) == 2
    assert not any(name.endswith("_regret") for name in part.plots)


# ---------------------------------------------------------------- nightly: uplift section


def test_uplift_section_recomputes_the_live_models_held_out_qini(tmp_path):
    from lawn.model_store import load_artefact
    from lawn.uplift import predict_uplift
    from lawn.uplift_report import load_views

    examples = uplift_examples()
    db = fx.write_warehouse(tmp_path / "u.duckdb", {"marts.fct_uplift_training_examples": examples})
    store = tmp_path / "uplift"
    artefact = train(db, store, "retention_offer_uplift")
    part = report_adaptive.uplift_part(db, store)
    held = examples[examples["account_id"].map(is_held_out)].sort_values("account_id").reset_index(drop=True)
    params = load_artefact(store / "retention_offer_uplift", artefact["version"])["params"]
    uplift = predict_uplift(params, held)
    n = len(held)
    ks = list(range(1, n + 1))
    gains = np.array(qini_by_subsets(held, uplift, ks))
    auuc = gains.mean() / n
    qini = (gains - gains[-1] * np.arange(1, n + 1) / n).mean() / n
    # the card recorded the same held-out figures at training (same data)
    assert artefact["held_out"]["auuc"] == pytest.approx(auuc, abs=1e-12)
    assert artefact["held_out"]["qini_coefficient"] == pytest.approx(qini, abs=1e-12)
    sentence = next(line for line in part.markdown if line.startswith("Held out at training"))
    assert f"{n} accounts" in sentence
    assert f"Qini coefficient {qini:.5f}, AUUC {auuc:.5f}" in sentence
    assert f"incremental outcomes if all were treated {gains[-1]:.2f}" in sentence
    views, problems = load_views(db, store)
    assert not problems and np.allclose(views[0].curve["gain"].to_numpy(), gains, atol=1e-9)
    assert list(part.plots) == ["uplift_retention_offer_uplift"]
    # decile table: observed uplift recomputed with pandas
    lines = part_lines(part)
    table, _ = md_table(lines, after(lines, "Predicted vs observed"))
    ranked = pd.Series(uplift).rank(method="first", ascending=False)
    decile = pd.qcut(ranked, 10, labels=False) + 1
    rates = held.assign(decile=decile).groupby(["decile", "treated"])["outcome"].mean().unstack()
    assert np.allclose(num(table["observed_uplift"]), -(rates[1] - rates[0]).to_numpy(), atol=5e-4)
    # the mart no longer holds the held-out rows: the card's figures, said to be such, no plot
    with duckdb.connect(str(db)) as con:
        con.execute("delete from marts.fct_uplift_training_examples")
    part = report_adaptive.uplift_part(db, store)
    line = next(line for line in part.markdown if "no longer in" in line)
    assert f"AUUC {auuc:.5f}" in line and not part.plots


# ---------------------------------------------------------------- the real nightly report, rendered


@pytest.fixture(scope="module")
def small_world_report(built_small, tmp_path_factory):
    """The small world decided night by night by its bandit, the bandit marts built, planted
    uplift examples in marts.fct_uplift_training_examples and a live uplift model; then the
    nightly report written as the nightly's report step writes it."""
    from lawn.bandit_nightly import run_bandits
    from lawn.report import write_report
    from tests_py.conftest import query, run_dbt

    work = tmp_path_factory.mktemp("adaptive_small")
    db = work / "lawn.duckdb"
    shutil.copy(built_small, db)
    first = query(db, "select min(decided_on) as d from marts.fct_next_best_actions "
                      "where rule_id = 'stalled_activation_onboarding'")["d"][0].date()  # fmt: skip
    last = query(db, "select max(feature_date) as d from marts.fct_account_features_daily")["d"][0].date()
    day = first
    while day <= last:
        run_bandits(db, as_of=day, max_age_days=0)
        day += dt.timedelta(days=1)
    run_dbt(["build", "--select", "source:ml.bandit_allocations+", "source:ml.bandit_assignments+",
             "--exclude-resource-type", "unit_test"], db, work)  # fmt: skip
    with duckdb.connect(str(db)) as con:
        columns = [row[0] for row in con.execute("describe marts.fct_uplift_training_examples").fetchall()]
        examples = uplift_examples(2500, 5)
        examples = examples.assign(uplift_example_key="retention_offer_uplift:" + examples["account_id"])
        con.register("examples", examples[[c for c in columns if c in examples.columns]])
        con.execute("insert into marts.fct_uplift_training_examples by name select * from examples")
    store = work / "uplift"
    train(db, store, "retention_offer_uplift")
    html, markdown = write_report(db, work / "report", {"run_id": "adaptive-test", "steps": []}, store)
    return {"db": db, "html": html, "markdown": markdown, "work": work}


def test_the_nightly_report_shows_and_renders_the_adaptive_sections(small_world_report, tmp_path):
    from tests_py.conftest import query
    from tests_py.test_cadence_reports import render_in_chromium

    db, html = small_world_report["db"], small_world_report["html"]
    markdown = small_world_report["markdown"].read_text()
    assert "## Uplift models" in markdown and "## Bandits" in markdown
    allocations = query(db, "select * from ml.bandit_allocations")
    contexts = allocations[["bandit_id", "context"]].drop_duplicates()
    regret = bandit_report.regret_by_day(bandit_report.load_bandit_report(db))
    adaptive = 1 + len(contexts) + regret["bandit_id"].nunique()  # uplift, allocation, regret plots
    assert regret["bandit_id"].nunique() == 1  # the small world's windows close: there is a regret plot
    drawn, total, dom = render_in_chromium(html, tmp_path / "profile")
    assert drawn == total == 8 + adaptive
    assert markdown.count("![") == total
    for name in re.findall(r"!\[[^\]]*\]\(([^)]+\.png)\)", markdown):
        assert (html.parent / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # the real figures: shares as the landing table, regret from the outcomes mart by hand
    outcomes = query(db, "select * from marts.fct_bandit_outcomes")
    arms_daily = query(db, "select * from marts.fct_bandit_arms_daily")
    expected = regret_by_hand(outcomes.assign(reward=outcomes["reward"].astype(float)), arms_daily)
    for row in regret.itertuples():
        bandit, uniform, holdout = expected[(row.bandit_id, pd.Timestamp(row.decision_day).date())]
        assert row.bandit_regret == pytest.approx(bandit, abs=1e-9)
        assert row.uniform_regret == pytest.approx(uniform, abs=1e-9)
        assert row.holdout_regret == pytest.approx(holdout, abs=1e-9) or np.isnan(holdout)
    shares = bandit_report.allocation_shares(bandit_report.load_bandit_report(db))
    merged = shares.merge(allocations, on=["bandit_id", "decision_day", "context", "arm"])
    assert len(merged) == len(allocations) and np.allclose(merged["share_x"], merged["share_y"], atol=0)
    assert "Bandits" in dom and "Uplift models" in dom and "inverse-propensity weighting" in dom
