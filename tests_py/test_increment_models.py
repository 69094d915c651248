"""The cheaper int_identity_links (docs/incremental_increment_models.md): pairs counted on
the two keys alone, the type and value of each key joined back from the distinct keys.

On the hand-written feed of test_incremental_identity (raw envelope and tracking plan, not
lawn's generator: blocked user_ids 'null' and '0', a late February event received in March,
a row the loader landed late, and on day 2 Ann signing up again from the visitor's browser,
which merges two people), the model equals an independent pandas computation of the pairs
from int_identity_observations, after one full refresh and after day 1 from scratch plus an
incremental run (EXCEPT ALL both ways between the two). A negative control without the
`distinct` of the key list shows the pandas comparison catches a wrong join back."""

from __future__ import annotations

import shutil
from itertools import combinations
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from lawn.paths import REPO_ROOT
from tests_py.conftest import query, run_dbt
from tests_py.test_incremental_identity import (
    BATCH_1,
    BATCH_2,
    LATE_LANDED,
    _write_events,
    except_all_counts,
)

LINKS = "intermediate.int_identity_links"
ARGS = ["build", "--select", "+int_identity_links", "--exclude", "test_type:data", "test_type:unit"]
PROJECT_FILES = ("dbt_project.yml", "profiles.yml", "selectors.yml", "macros", "models", "seeds", "snapshots",
                 "tests", "analyses")  # fmt: skip
LINK_COLUMNS = ["left_key", "right_key", "left_type", "left_value", "right_type", "right_value",
                "first_seen_at", "event_count"]  # fmt: skip


def _expected_links(db_path: Path) -> pd.DataFrame:
    """Every pair of usable identifiers on one event, computed in pandas from the
    observations: per event, every two of its unblocked keys, smaller key on the left."""
    observations = query(
        db_path,
        "select event_id, occurred_at, identifier_key, identifier_type, identifier_value"
        " from intermediate.int_identity_observations where not is_blocked",
    )
    rows = []
    for _, event in observations.groupby("event_id"):
        ordered = event.sort_values("identifier_key").to_dict("records")
        for left, right in combinations(ordered, 2):
            rows.append(
                {
                    "left_key": left["identifier_key"],
                    "right_key": right["identifier_key"],
                    "left_type": left["identifier_type"],
                    "left_value": left["identifier_value"],
                    "right_type": right["identifier_type"],
                    "right_value": right["identifier_value"],
                    "occurred_at": left["occurred_at"],
                }
            )
    pairs = pd.DataFrame(rows)
    keys = ["left_key", "right_key", "left_type", "left_value", "right_type", "right_value"]
    grouped = pairs.groupby(keys, as_index=False).agg(
        first_seen_at=("occurred_at", "min"), event_count=("occurred_at", "size")
    )
    return _sorted(grouped)


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame[LINK_COLUMNS].copy()
    frame["event_count"] = frame["event_count"].astype("int64")
    return frame.sort_values(["left_key", "right_key"]).reset_index(drop=True)


def _links(db_path: Path) -> pd.DataFrame:
    return _sorted(query(db_path, f"select * from {LINKS}"))


def _project_with_links(root: Path, old: str, new: str) -> Path:
    """A copy of the dbt project whose int_identity_links has ``old`` replaced by ``new``."""
    root.mkdir(parents=True)
    for name in PROJECT_FILES:
        source = REPO_ROOT / name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, root / name)
    model = root / "models" / "intermediate" / "identity" / "int_identity_links.sql"
    text = model.read_text()
    assert text.count(old) == 1
    model.write_text(text.replace(old, new))
    return root


@pytest.fixture(scope="module")
def worlds(tmp_path_factory):
    """One full refresh of both days; and day 1 from scratch, then both days incrementally."""
    work = tmp_path_factory.mktemp("increment_models")
    _write_events(work / "raw_all", BATCH_1 + BATCH_2 + LATE_LANDED)
    _write_events(work / "raw_first", BATCH_1)
    one_step = work / "one_step.duckdb"
    run_dbt([*ARGS, "--full-refresh"], one_step, work / "t1", raw_dir=work / "raw_all")
    two_steps = work / "two_steps.duckdb"
    run_dbt([*ARGS, "--full-refresh"], two_steps, work / "t2", raw_dir=work / "raw_first")
    run_dbt(ARGS, two_steps, work / "t2", raw_dir=work / "raw_all")
    return work, one_step, two_steps


def test_links_equal_the_pairs_computed_in_pandas(worlds):
    _, one_step, two_steps = worlds
    for db_path in (one_step, two_steps):
        expected, got = _expected_links(db_path), _links(db_path)
        pd.testing.assert_frame_equal(got, expected, check_dtype=False)
    links = _links(one_step)
    # the day-2 merge: Ann's new user_id is linked to the visitor's browser
    merged = links[(links["left_key"] == "anonymous_id:anon_v") & (links["right_key"] == "user_id:u_ann2")]
    assert merged["event_count"].tolist() == [2]
    # blocked user_ids link nothing
    assert not links["right_key"].isin(["user_id:null", "user_id:0"]).any()
    # the late February event adds to Dora's pair and moves nothing else
    dora = links[(links["left_key"] == "anonymous_id:anon_d") & (links["right_key"] == "user_id:u_dora")]
    assert dora["event_count"].tolist() == [5]


def test_the_increment_equals_a_full_refresh(worlds):
    _, one_step, two_steps = worlds
    only_two, only_one, rows = except_all_counts(two_steps, one_step, LINKS)
    assert (only_two, only_one) == (0, 0) and rows > 0


def test_without_distinct_keys_the_comparison_fails(worlds, tmp_path):
    """Negative control: joining the pairs back to every observation row instead of the
    distinct keys repeats each pair once per observation of its keys."""
    work, one_step, _ = worlds
    project = _project_with_links(tmp_path / "project", "    select distinct\n", "    select\n")
    broken = tmp_path / "broken.duckdb"
    shutil.copy(one_step, broken)
    run_dbt([*ARGS, "--full-refresh"], broken, tmp_path / "t", raw_dir=work / "raw_all", project_dir=project)
    got = _links(broken)
    expected = _expected_links(broken)
    assert len(got) > len(expected)
    only_broken, only_good, _ = except_all_counts(broken, one_step, LINKS)
    assert only_broken > 0 and only_good == 0
    with duckdb.connect(str(broken), read_only=True) as con:
        repeated = con.execute(f"select count(*) from (select left_key, right_key from {LINKS} "
                               "group by left_key, right_key having count(*) > 1)").fetchone()[0]  # fmt: skip
    assert repeated > 0
