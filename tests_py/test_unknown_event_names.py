"""A raw feed whose event names are not the tracking plan's (a Title Case export of a Segment
warehouse table: "Signed Up") landed, built with exit 0 and quarantined every row as
UNKNOWN_EVENT without a word on small volumes (the valid-share floor starts at 100 events a
day; a probe, 2026-12-07). The load now warns, naming the file, the counts, the commonest
names and the plan's name each most likely means. The plan's names are read here from the
seed itself (pandas), not through lawn."""

from __future__ import annotations

import pandas as pd
from typer.testing import CliRunner

from lawn.cli import app
from lawn.paths import TRACKING_PLAN_DIR

runner = CliRunner()
HEADER = "event_id,event_name,schema_version,source,occurred_at,received_at,anonymous_id,user_id,properties"


def _feed(tmp_path, names: list[str]):
    raw = tmp_path / "raw"
    raw.mkdir()
    rows = [
        f'r{i},{name},1,web,2026-10-05T09:0{i % 10}:00Z,2026-10-05T09:0{i % 10}:01Z,a{i},,"{{}}"'
        for i, name in enumerate(names)
    ]
    (raw / "raw_events.csv").write_text("\n".join([HEADER, *rows]) + "\n")
    return raw


def _warnings(result) -> list[str]:
    return [line for line in " ".join(result.output.split()).split("warning: ")[1:]]


def test_a_feed_of_unknown_names_is_warned_with_the_names_it_means(tmp_path):
    names = ["Signed Up"] * 3 + ["Feature Used", "logged-in", "Checkout Completed", "signed_up", ""]
    plan = set(pd.read_csv(TRACKING_PLAN_DIR / "tracking_plan_events.csv", dtype=str)["event_name"])
    named = [name for name in names if name.strip()]
    unknown = [name for name in named if name.strip() not in plan]
    assert (len(unknown), len(named)) == (6, 7)  # by hand: every name but signed_up
    result = runner.invoke(app, ["validate-raw", "--raw-dir", str(_feed(tmp_path, names))])
    assert result.exit_code == 0, result.output
    [line] = [line for line in _warnings(result) if "event name the tracking plan does not know" in line]
    assert f"{len(unknown)} of {len(named)} named rows" in line
    counts = pd.Series(unknown).value_counts()
    top = sorted(counts.index, key=lambda name: (-counts[name], name))[:3]
    assert top == ["Signed Up", "Checkout Completed", "Feature Used"]  # by hand: 3, then ties by name
    snake = {name.lower().replace(" ", "_").replace("-", "_"): name for name in plan}
    shown = ", ".join(
        f"'{name}'"
        + (f" (the plan's '{snake[key]}'?)" if (key := name.lower().replace(" ", "_")) in snake else "")
        for name in top
    )
    assert f"e.g. {shown}: they will be quarantined (UNKNOWN_EVENT)" in line, line


def test_a_few_unknown_names_among_known_ones_are_not_warned(tmp_path):
    """The demo's dirt plants some unknown names; a minority is the quarantine's business."""
    names = ["signed_up", "logged_in", "feature_used", "Feature Used"]
    result = runner.invoke(app, ["validate-raw", "--raw-dir", str(_feed(tmp_path, names))])
    assert result.exit_code == 0, result.output
    assert not [line for line in _warnings(result) if "tracking plan does not know" in line]
