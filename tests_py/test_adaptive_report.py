"""The reports' adaptive-decision parts (issue 14.4): the nightly report's uplift and bandit
sections (lawn/report_adaptive.py, lawn/bandit_report.py, lawn/uplift_report.py) and the weekly
report's "Bandit decisions" block (lawn/reports/bandit_decisions.py).

Fast tests use a hand-written warehouse: two bandits (one contextual) over 12 nights with shares,
posteriors, propensities and rewards written here from planted arm rates, and the uplift marts
with a planted effect. Every figure is recomputed here independently: shares counted from the
assignments, Beta intervals by numerical integration of the density, regret by explicit loops
over rewards and propensities, the Qini curve by subsetting the top-k accounts; the regret
estimate is also checked against the regret computed from the planted rates. The weekly block
is checked on the cadence reports' fixture and reproduced byte for byte with `--as-of` after
later nights. The last test renders a real nightly report (small world, bandit nights, an
uplift model) in headless Chromium."""

from __future__ import annotations

import datetime as dt
import math
import re
import shutil
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from lawn import bandit_report, report_adaptive
from lawn.cli import app
from lawn.reports.run import write_cadence_report
from lawn.uplift_model import is_held_out, train
from tests_py import cadence_fixture as fx

DAY0 = dt.date(2026, 6, 4)
NIGHTS = [DAY0 + dt.timedelta(days=i) for i in range(12)]  # 06-04 .. 06-15 (the fixture's as-of)
LAST = NIGHTS[-1]
WINDOW = 3
HOLDOUT = 0.2
FLOOR = 0.05
UNITS = 40  # per night and context
# bandit -> context -> arm -> planted reward rate
RATES = {
    "prompt": {"all": {"checklist": 0.05, "sample_invoice": 0.12, "video_tour": 0.30}},
    "email_order": {
        "enterprise": {"long": 0.25, "short": 0.05},
        "smb": {"long": 0.10, "short": 0.20},
    },
}


def _shares(rates: dict[str, float], night: int, nights: int) -> np.ndarray:
    """Hand-set shares moving from uniform to 90% on the best arm (floored at FLOOR)."""
    k, w = len(rates), night / max(nights - 1, 1)
    target = np.array([1 - FLOOR * (k - 1) if r == max(rates.values()) else FLOOR for r in rates.values()])
    return (1 - w) * np.full(k, 1 / k) + w * target


def bandit_world(nights=NIGHTS, last: dt.date = LAST, seed: int = 3, units: int = UNITS) -> dict:
    """The four bandit marts, hand-written: allocations, assignments with propensities, rewards
    drawn from RATES (null while the window is open at ``last``), and a readout."""
    rng = np.random.default_rng(seed)
    allocation, assignments = [], []
    for bandit_id, contexts in RATES.items():
        for context, rates in contexts.items():
            arms = sorted(rates)
            for n, night in enumerate(nights):
                shares = _shares({a: rates[a] for a in arms}, n, len(nights))
                for a, arm in enumerate(arms):
                    alpha, beta = 1 + round(n * 8 * rates[arm]), 1 + round(n * 8 * (1 - rates[arm]))
                    allocation.append({
                        "bandit_allocation_key": f"{bandit_id}:{night}:{context}:{arm}",
                        "bandit_id": bandit_id, "decision_day": night, "context": context, "arm": arm,
                        "template_id": f"tpl-{arm}", "posterior_alpha": float(alpha),
                        "posterior_beta": float(beta), "posterior_mean": alpha / (alpha + beta),
                        "prob_best": (shares[a] - FLOOR) / (1 - len(arms) * FLOOR), "share": shares[a],
                        "propensity": HOLDOUT / len(arms) + (1 - HOLDOUT) * shares[a], "seed": 7,
                        "draws": 1000, "exploration_floor": FLOOR, "holdout_share": HOLDOUT,
                    })  # fmt: skip
                for u in range(units):
                    holdout = bool(rng.random() < HOLDOUT)
                    weights = np.full(len(arms), 1 / len(arms)) if holdout else shares
                    a = int(rng.choice(len(arms), p=weights))
                    closed = night + dt.timedelta(days=WINDOW) <= last
                    reward = int(rng.random() < rates[arms[a]])
                    assignments.append({
                        "bandit_assignment_key": f"{bandit_id}:{night}:{context}:{u}", "bandit_id": bandit_id,
                        "action_id": f"{bandit_id}-{night}-{context}-{u}", "account_id": f"acc-{u}",
                        "decision_day": night, "context": context, "arm": arms[a],
                        "template_id": f"tpl-{arms[a]}",
                        "is_holdout": holdout, "propensity": HOLDOUT / len(arms) + (1 - HOLDOUT) * shares[a],
                        "is_window_closed": closed, "reward": reward if closed else None,
                        "true_rate": rates[arms[a]],
                    })  # fmt: skip
    allocation, assignments = pd.DataFrame(allocation), pd.DataFrame(assignments)
    placed = assignments.groupby(["bandit_id", "decision_day", "context", "arm"]).agg(
        actions_assigned=("action_id", "size"), holdout_actions_assigned=("is_holdout", "sum")
    )
    allocation = allocation.join(placed, on=["bandit_id", "decision_day", "context", "arm"])
    allocation[["actions_assigned", "holdout_actions_assigned"]] = (
        allocation[["actions_assigned", "holdout_actions_assigned"]].fillna(0).astype("int64")
    )
    readout = allocation[["bandit_id", "arm", "template_id"]].drop_duplicates().assign(
        closed_units=0, arm_units=0, naive_rate=np.nan, ipw_rate=np.nan, ipw_se=np.nan, holdout_units=0,
        holdout_rate=np.nan, holdout_arm_rate=np.nan, lift_vs_holdout=np.nan, sequential_ci_low=np.nan,
        sequential_ci_high=np.nan, sequential_p_value=np.nan,
    )  # fmt: skip
    return {
        "marts.fct_bandit_arms_daily": allocation,
        "marts.fct_bandit_assignments": assignments.drop(columns=["is_window_closed", "reward", "true_rate"]),
        "marts.fct_bandit_outcomes": assignments.drop(columns=["true_rate"]).astype({"reward": "Int64"}),
        "marts.fct_bandit_readout": readout,
        "truth": assignments,
    }


def _write(path: Path, frames: dict[str, pd.DataFrame]) -> Path:
    return fx.write_warehouse(path, {k: v for k, v in frames.items() if k.startswith("marts.")})


def md_table(lines: list[str], start: int) -> tuple[pd.DataFrame, int]:
    """The first Markdown table at or after line ``start``, as text, and the line after it."""
    first = next(i for i in range(start, len(lines)) if lines[i].startswith("|"))
    rows, i = [], first
    while i < len(lines) and lines[i].startswith("|"):
        rows.append([cell.strip() for cell in lines[i].strip("|").split(" | ")])
        i += 1
    return pd.DataFrame(rows[2:], columns=rows[0]), i


def _lines(part: report_adaptive.Part) -> list[str]:
    return "\n".join(part.markdown).splitlines()


def _after(lines: list[str], text: str) -> int:
    return next(i for i, line in enumerate(lines) if line.startswith(text))


def _num(column: pd.Series) -> np.ndarray:
    return pd.to_numeric(column.replace("-", np.nan)).to_numpy(float)


def beta_interval(a: float, b: float, level: float = 0.95) -> tuple[float, float]:
    """Equal-tailed Beta interval by integrating the density on a fine grid (no scipy)."""
    x = np.linspace(0, 1, 400_001)[1:-1]
    log_norm = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
    density = np.exp(log_norm + (a - 1) * np.log(x) + (b - 1) * np.log1p(-x))
    cdf = np.concatenate([[0.0], np.cumsum((density[1:] + density[:-1]) / 2 * np.diff(x))])
    tail = (1 - level) / 2
    return float(np.interp(tail, cdf, x)), float(np.interp(1 - tail, cdf, x))


def regret_by_hand(outcomes: pd.DataFrame, allocation: pd.DataFrame) -> dict[tuple, tuple[float, ...]]:
    """(bandit, night) -> (bandit regret, uniform regret by IPW, uniform regret by the holdout's
    observed rate), by explicit loops over rewards and propensities."""
    sums: dict[tuple, dict] = {}
    for record in outcomes.to_dict("records"):
        if not record["is_window_closed"]:
            continue
        entry = sums.setdefault((record["bandit_id"], record["context"]), {"n": 0, "arm": {}, "h": [0, 0]})
        entry["n"] += 1
        entry["arm"][record["arm"]] = (
            entry["arm"].get(record["arm"], 0.0) + record["reward"] / record["propensity"]
        )
        if record["is_holdout"]:
            entry["h"][0] += 1
            entry["h"][1] += record["reward"]
    rates = {}
    for key, entry in sums.items():
        arms = sorted(set(allocation.loc[allocation["bandit_id"] == key[0], "arm"]))
        ipw = {arm: entry["arm"].get(arm, 0.0) / entry["n"] for arm in arms}
        holdout = entry["h"][1] / entry["h"][0] if entry["h"][0] else float("nan")
        rates[key] = (ipw, max(ipw.values()), sum(ipw.values()) / len(ipw), holdout)
    out: dict[tuple, list[float]] = {}
    for row in allocation.to_dict("records"):
        key = (row["bandit_id"], row["context"])
        if key not in rates:
            continue
        ipw, best, uniform, holdout = rates[key]
        night = out.setdefault((row["bandit_id"], pd.Timestamp(row["decision_day"]).date()), [0.0, 0.0, 0.0])
        night[0] += row["actions_assigned"] * (best - ipw[row["arm"]])
        night[1] += row["actions_assigned"] * (best - uniform)
        night[2] += row["actions_assigned"] * (best - holdout)
    return {k: tuple(v) for k, v in out.items()}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("adaptive")
    frames = bandit_world()
    db = _write(root / "w.duckdb", frames)
    return {"db": db, "frames": frames, "part": report_adaptive.bandit_part(db), "root": root}


# ---------------------------------------------------------------- nightly: bandit section


def test_allocation_shares_and_posteriors_equal_a_hand_computation(world):
    lines = _lines(world["part"])
    truth = world["frames"]["truth"]
    allocation = world["frames"]["marts.fct_bandit_arms_daily"]
    for bandit_id in RATES:
        start = _after(lines, f"### {bandit_id}: 12 nights")
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
    lines = _lines(world["part"])
    for bandit_id in RATES:
        nights = sorted(k for k in expected if k[0] == bandit_id)
        total = np.cumsum([expected[k] for k in nights], axis=0)
        block = lines[_after(lines, f"### {bandit_id}") :]
        sentence = block[_after(block, "Cumulative regret estimated by IPW")]
        assert (
            f"bandit {total[-1][0]:.2f}, uniform allocation {total[-1][1]:.2f} ({total[-1][2]:.2f} by the "
            "uniform holdout's observed rate" in sentence
        )
        assert "inverse-propensity weighting" in sentence
        table, _ = md_table(block, _after(block, "Cumulative regret estimated by IPW"))
        assert np.allclose(_num(table["cumulative_bandit_regret"]), total[-7:, 0], atol=5e-4)
        assert np.allclose(_num(table["cumulative_uniform_regret"]), total[-7:, 1], atol=5e-4)
        assert np.allclose(_num(table["cumulative_holdout_regret"]), total[-7:, 2], atol=5e-4)
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
    db = _write(tmp_path / "w.duckdb", frames)
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
    rates = bandit_report.ipw_rates(
        bandit_report.load_bandit_report(db).outcomes, allocation[["bandit_id", "arm"]]
    ).set_index(["bandit_id", "arm"])
    assert rates.loc[("prompt", "checklist"), "ipw_rate"] == 0.0
    lines = _lines(report_adaptive.bandit_part(db))
    block = lines[_after(lines, "### prompt") :]
    sentence = block[_after(block, "Cumulative regret estimated by IPW")]
    assert "(none by the uniform holdout (no closed reward window in it))" in sentence


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
    db = _write(tmp_path / "empty.duckdb", empty)
    assert report_adaptive.NO_BANDIT in report_adaptive.bandit_part(db).markdown
    # nights decided but no reward window closed yet: no regret figure, said in one line
    opened = bandit_world(nights=NIGHTS[-2:])
    part = report_adaptive.bandit_part(_write(tmp_path / "open.duckdb", opened))
    assert sum("no reward window has closed yet" in line for line in part.markdown) == 2
    assert not any(name.endswith("_regret") for name in part.plots)


# ---------------------------------------------------------------- nightly: uplift section


def uplift_examples(n: int = 4000, seed: int = 11) -> pd.DataFrame:
    from tests_py.test_uplift import planted_frame
    from tests_py.test_uplift_model import _with_features

    planted = _with_features(planted_frame(n, seed), 1)
    planted["account_id"] = [f"acc_{i:06d}" for i in range(len(planted))]
    return planted.assign(
        uplift_model_id="retention_offer_uplift",
        is_treated=planted["treated"].astype(bool),
        is_label_known=True,
        benefit_sign=-1,
        outcome=planted["outcome"].astype(bool),
    )


def qini_by_subsets(frame: pd.DataFrame, uplift: np.ndarray, ks: list[int]) -> list[float]:
    """Benefit-signed incremental outcomes of the top-k accounts, each k on its own subset."""
    order = np.argsort(-uplift, kind="stable")
    out = []
    for k in ks:
        top = frame.iloc[order[:k]]
        treated, control = top[top["treated"] == 1], top[top["treated"] == 0]
        scale = len(treated) / len(control) if len(control) else 0.0
        out.append(-(treated["outcome"].sum() - control["outcome"].sum() * scale))
    return out


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
    lines = _lines(part)
    table, _ = md_table(lines, _after(lines, "Predicted vs observed"))
    ranked = pd.Series(uplift).rank(method="first", ascending=False)
    decile = pd.qcut(ranked, 10, labels=False) + 1
    rates = held.assign(decile=decile).groupby(["decile", "treated"])["outcome"].mean().unstack()
    assert np.allclose(_num(table["observed_uplift"]), -(rates[1] - rates[0]).to_numpy(), atol=5e-4)
    # the mart no longer holds the held-out rows: the card's figures, said to be such, no plot
    with duckdb.connect(str(db)) as con:
        con.execute("delete from marts.fct_uplift_training_examples")
    part = report_adaptive.uplift_part(db, store)
    line = next(line for line in part.markdown if "no longer in" in line)
    assert f"AUUC {auuc:.5f}" in line and not part.plots


# ---------------------------------------------------------------- weekly: bandit decisions


def _weekly_world(root: Path) -> dict:
    frames = {**fx.tables(), **{k: v for k, v in bandit_world().items() if k.startswith("marts.")}}
    db = fx.write_warehouse(root / "w.duckdb", frames)
    store, manifest = fx.write_model_store(root / "store"), fx.write_manifest(root / "manifest.json")
    return {
        "db": db,
        "store": store,
        "manifest": manifest,
        "allocation": frames["marts.fct_bandit_arms_daily"],
    }


def test_weekly_names_the_bandits_decisions_of_the_week(tmp_path):
    found = _weekly_world(tmp_path)
    _, md_path, _ = write_cadence_report(
        found["db"], "weekly", None, tmp_path / "out", found["store"], found["manifest"]
    )
    lines = md_path.read_text().splitlines()
    start = _after(lines, "## Bandit decisions")
    week = [d for d in NIGHTS if dt.date(2026, 6, 9) <= d <= fx.AS_OF]
    assert len(week) == 7
    allocation = found["allocation"]
    mine = allocation[allocation["decision_day"].isin(week)].sort_values(
        ["decision_day", "bandit_id", "context", "arm"]
    )
    bullets = [line[2:] for line in lines[start:] if line.startswith("- ")][: 7 * 3]
    expected = []
    for (day, bandit_id, context), night in mine.sort_values(
        ["decision_day", "bandit_id", "context", "arm"]
    ).groupby(["decision_day", "bandit_id", "context"], sort=True):
        favoured = max(RATES[bandit_id][context], key=RATES[bandit_id][context].get)
        arms = "; ".join(
            f"{r.arm} {100 * r.share:.1f}% (P(best) {r.prob_best:.3f}, Beta({r.posterior_alpha:.0f}, "
            f"{r.posterior_beta:.0f}), mean {r.posterior_alpha / (r.posterior_alpha + r.posterior_beta):.3f})"
            for r in night.itertuples()
        )
        expected.append(
            f"{day} {bandit_id} ({context}): favoured {favoured}; allocation {arms}; "
            f"{night['actions_assigned'].sum()} action{'' if night['actions_assigned'].sum() == 1 else 's'} "
            f"placed ({night['holdout_actions_assigned'].sum()} "
            "in the uniform holdout)"
        )
    assert bullets == expected
    assert f"{len(expected)} allocations by 2 bandit(s) this week" in lines[start + 2]
    table, _ = md_table(lines, _after(lines, "### Allocations and posteriors"))
    assert len(table) == len(mine) and set(table["decision_day"]) == {str(d) for d in week}
    assert np.allclose(_num(table["share"]), mine["share"].to_numpy(), atol=5e-4)
    assert list(table["holdout_actions_assigned"]) == [str(n) for n in mine["holdout_actions_assigned"]]
    # the fixture without bandit marts: one line
    plain = fx.write_warehouse(tmp_path / "plain.duckdb")
    _, md_plain, _ = write_cadence_report(
        plain, "weekly", None, tmp_path / "o2", found["store"], found["manifest"]
    )
    assert "No bandit marts in this warehouse" in md_plain.read_text()


def test_weekly_bandit_block_is_reproduced_by_as_of_after_later_nights(tmp_path):
    found = _weekly_world(tmp_path)
    out = tmp_path / "out"
    write_cadence_report(found["db"], "weekly", None, out, found["store"], found["manifest"])
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    # later: five more nights (their rewards, and the closing of old windows), ten more data days
    later = bandit_world(nights=[*NIGHTS, *[LAST + dt.timedelta(days=i) for i in range(1, 6)]],
                         last=LAST + dt.timedelta(days=5))  # fmt: skip
    fx.add_later_data(found["db"])
    with duckdb.connect(str(found["db"])) as con:
        for name in ("fct_bandit_arms_daily", "fct_bandit_outcomes", "fct_bandit_assignments"):
            frame = later[f"marts.{name}"]
            new = frame[frame["decision_day"] > LAST]  # a past night's rows are never rewritten
            con.register("new", new)
            con.execute(f"insert into marts.{name} by name select * from new")
            con.unregister("new")
    result = CliRunner().invoke(app, [
        "report", "--cadence", "weekly", "--as-of", str(fx.AS_OF), "--out", str(out),
        "--db", str(found["db"]), "--model-store", str(found["store"]), "--manifest", str(found["manifest"]),
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    after = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before
    # ...and the later week names the later nights
    _, md_later, _ = write_cadence_report(
        found["db"], "weekly", fx.day(5), tmp_path / "later", found["store"], found["manifest"]
    )
    text = md_later.read_text()
    assert f"{fx.day(5)} prompt (all): favoured video_tour" in text and f"{fx.day(-2)} prompt" not in text


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
