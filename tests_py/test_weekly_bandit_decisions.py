"""The weekly report's "Bandit decisions" block (lawn/reports/bandit_decisions.py) on the cadence
reports' fixture plus the bandit marts of tests_py/adaptive_fixture.py: each night's allocation
and posterior named, compared with the fixture's rows formatted by hand; one line without bandit
marts; and `--as-of` reproduces an archived weekly byte for byte after later nights."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import numpy as np
from typer.testing import CliRunner

from lawn.cli import app
from lawn.reports.run import write_cadence_report
from tests_py import cadence_fixture as fx
from tests_py.adaptive_fixture import LAST, NIGHTS, RATES, after, bandit_world, md_table, num


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
    start = after(lines, "## Bandit decisions")
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
    table, _ = md_table(lines, after(lines, "### Allocations and posteriors"))
    assert len(table) == len(mine) and set(table["decision_day"]) == {str(d) for d in week}
    assert np.allclose(num(table["share"]), mine["share"].to_numpy(), atol=5e-4)
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
