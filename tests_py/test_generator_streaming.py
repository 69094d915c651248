"""The streaming generator (issue 18 item 1) writes the same bytes as the in-memory one.

The in-memory path (``write_generated(generate(config), ...)``) is the reference: its default run
is pinned to the committed demo by test_action_effects.py, and the streamed default run is
compared with that demo here too. Small batches force many spills, Parquet chunks and (with
dirt) redelivery batches, so every seam of the streaming path is crossed.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from lawn.cli import app
from lawn.contract import RAW_EVENT_COLUMNS
from lawn.generator import (
    DirtRates,
    GeneratorConfig,
    PlantedActionEffects,
    PlantedBreach,
    PlantedOutage,
    PlantedSdkBreak,
    generate,
    stream,
)
from lawn.generator.events import Event, EventLog
from lawn.generator.stream import generate_to_files
from lawn.generator.writers import write_generated
from lawn.paths import DEMO_RAW_DIR

OPTION_SETS = {
    "dirt x4": (GeneratorConfig(seed=7, accounts=30, days=90, dirt=DirtRates().scaled(4)), "csv"),
    "breach, sdk break and outage": (
        GeneratorConfig(
            seed=9,
            accounts=30,
            days=120,
            breach=PlantedBreach("ios", 60, 0.0),
            sdk_break=PlantedSdkBreak("web", "feature_used", 50),
            outage=PlantedOutage(70, 2, 6.0),
        ),
        "csv",
    ),
    "action effects": (
        GeneratorConfig(seed=5, accounts=40, days=120, action_effects=PlantedActionEffects()),
        "csv",
    ),
    "parquet, outage and dirt x3": (
        GeneratorConfig(
            seed=11, accounts=25, days=60, dirt=DirtRates().scaled(3), outage=PlantedOutage(20, 3, 30)
        ),
        "parquet",
    ),
}
BATCH = 400  # events per spill: tiny, so a run crosses dozens of batch boundaries
BUCKET = 700  # rows per sort bucket on average: tiny, so the sort crosses dozens of bucket seams


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(root)): path.read_bytes() for path in sorted(root.rglob("*")) if path.is_file()
    }


@pytest.mark.parametrize("name", list(OPTION_SETS))
def test_streamed_files_equal_the_in_memory_files_byte_for_byte(name, tmp_path):
    config, file_format = OPTION_SETS[name]
    write_generated(generate(config), tmp_path / "old" / "raw", tmp_path / "old" / "truth", file_format)
    run = generate_to_files(
        config,
        tmp_path / "new" / "raw",
        tmp_path / "new" / "truth",
        file_format,
        batch_events=BATCH,
        bucket_rows=BUCKET,
    )
    old, new = _files(tmp_path / "old"), _files(tmp_path / "new")
    assert sorted(new) == sorted(old)
    assert run.events > 5 * BATCH  # the run really was cut into many batches
    for path, content in old.items():
        assert new[path] == content, f"{name}: {path} differs"


def test_streamed_default_run_is_the_committed_demo(tmp_path):
    run = generate_to_files(GeneratorConfig(), tmp_path / "raw", tmp_path / "truth", batch_events=2_000)
    raw = sorted(path for path in run.paths if path.parent.name == "raw")
    assert [path.name for path in raw] == sorted(path.name for path in DEMO_RAW_DIR.glob("*.csv"))
    for path in raw:
        assert path.read_bytes() == (DEMO_RAW_DIR / path.name).read_bytes(), path.name
    demo_rows = sum(1 for _ in (DEMO_RAW_DIR / "raw_events.csv").open()) - 1
    assert run.events == demo_rows


def test_parquet_row_groups_match_to_parquet_when_a_run_spans_several(tmp_path, monkeypatch):
    """At scale raw_events.parquet has row groups of 1,048,576 rows; shrink them to cross the seams."""
    config = GeneratorConfig(seed=4, accounts=12, days=60)
    monkeypatch.setattr(stream, "PARQUET_ROW_GROUP", 300)
    generate_to_files(
        config, tmp_path / "raw", tmp_path / "truth", "parquet", batch_events=BATCH, bucket_rows=BUCKET
    )
    frame = generate(config).raw["raw_events"]
    frame.astype("string").to_parquet(tmp_path / "expected.parquet", index=False, row_group_size=300)
    written = tmp_path / "raw" / "raw_events.parquet"
    assert pq.ParquetFile(written).metadata.num_row_groups > 3
    assert written.read_bytes() == (tmp_path / "expected.parquet").read_bytes()


def _event(event_id: str, received_s: float) -> Event:
    return Event(event_id, "page_viewed", 1, "web", 0.0, received_s, 0, "a", "d", None, None, {}, {})


def test_rows_with_the_same_received_at_share_a_bucket_and_sort_as_pandas_does(tmp_path):
    """A boundary falls inside a millisecond: received_s on both sides of it prints as the same
    received_at text, and those rows must still be ordered by event_id, then delivery order."""
    log = EventLog(1, dt.date(2026, 1, 1))
    boundary = "2026-01-01T00:00:10.000Z"
    buckets = stream._Buckets(tmp_path, log, [boundary])
    # 9.9999996 s rounds to 10.000000 s: the boundary's own text, though it is under 10 s
    first = [_event("e3", 9.9999996), _event("e9", 3.0), _event("e1", 10.0), _event("e2", 11.0)]
    second = [_event("e2", 10.0004), _event("e1", 9.9999996), _event("e0", 2.0), _event("e2", 11.0)]
    buckets.write(first, 0)
    buckets.write(second, len(first))
    tables = list(buckets.sorted_tables())
    assert [table.num_rows for table in tables] == [2, 6]  # only e9 and e0 print under the boundary
    got = pd.concat([table.to_pandas() for table in tables], ignore_index=True)
    rows = pd.DataFrame([stream._serialise(log, event) for event in first + second])
    expected = rows.sort_values(["received_at", "event_id"], kind="stable").reset_index(drop=True)
    assert got.astype("string").equals(expected[list(got.columns)].astype("string"))
    # by hand: 10.0004 s also prints as 10.000 (milliseconds are cut), so four rows share it
    assert list(got["event_id"]) == ["e0", "e9", "e1", "e1", "e2", "e3", "e2", "e2"]
    assert not list(tmp_path.glob("*.arrow"))  # read once, then removed


def test_the_cli_streams_and_rejects_bad_rates_with_exit_2(tmp_path):
    runner = CliRunner()
    args = ["generate", "--accounts", "8", "--days", "40", "--out-dir", str(tmp_path / "raw")]
    args += ["--truth-dir", str(tmp_path / "truth")]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    events = pd.read_csv(tmp_path / "raw" / "raw_events.csv", dtype=str)
    assert list(events.columns) == list(RAW_EVENT_COLUMNS)
    assert f"wrote {len(events):,} raw events" in result.output
    keys = list(zip(events["received_at"], events["event_id"], strict=True))
    assert keys == sorted(keys)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["raw", "truth"]  # spills removed
    bad = runner.invoke(app, [*args, "--dirt", "malformed_json=0.6"])
    assert bad.exit_code == 2
    assert "keep them under 0.5" in bad.output
    assert "Traceback" not in bad.output


def test_unstreamable_format_is_refused(tmp_path):
    with pytest.raises(ValueError, match="parquet-typed"):
        generate_to_files(GeneratorConfig(accounts=3, days=30), tmp_path, tmp_path, "parquet-typed")
