"""`lawn nightly` on a feed younger than the churn label (a new customer's first nights), run
from the user's own folder with relative paths, as a scheduler's working directory gives them.

A black-box probe (2026-12-07) found two defects on this path:
- the score step failed every night ("no labelled account-days: the data must cover at least
  30 days after a payment", exit 1) until the data was old enough to train the first churn
  model, so the actions, SLOs, reports and 13 public marts were never built for the feed's
  first month;
- a relative `--db` reached dbt as given, and dbt (which runs in the project's folder) built
  another file there: "hash_key holds 0 keys", exit 1.

Now the night goes on without churn scores ("no churn model yet" in the score step's line),
and dbt builds the file lawn landed. Hand-written: three events on day 1, two on day 2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb

from lawn.paths import REPO_ROOT
from tests_py.conftest import TEST_HASH_KEY

HEADER = (
    "event_id,event_name,schema_version,source,occurred_at,received_at,anonymous_id,device_id,"
    "user_id,account_id,context,properties\n"
)
DAY_1 = (
    "a1,signed_up,1,web,2026-11-28T09:00:00Z,2026-11-28T09:00:01Z,,,u1,acc1,,"
    '"{""email"":""u1@acc1.com"",""signup_method"":""email""}"\n'
    "a2,plan_changed,2,backend,2026-11-28T09:05:00Z,2026-11-28T09:05:01Z,,,u1,acc1,,"
    '"{""from_plan"":""trial"",""to_plan"":""starter"",""mrr_usd"":29,""seats"":1,""billing_period"":""monthly""}"\n'
    'a3,logged_in,1,web,2026-11-28T10:00:00Z,2026-11-28T10:00:01Z,,,u1,acc1,,"{""login_method"":""password""}"\n'
)
DAY_2 = (
    "b1,signed_up,1,web,2026-11-29T09:00:00Z,2026-11-29T09:00:01Z,,,u2,acc2,,"
    '"{""email"":""u2@acc2.com"",""signup_method"":""email""}"\n'
    'b2,logged_in,1,web,2026-11-29T10:00:00Z,2026-11-29T10:00:01Z,,,u1,acc1,,"{""login_method"":""password""}"\n'
)
# what a night builds after the score step (missing when the step failed)
AFTER_SCORING = {
    "fct_churn_scores",
    "fct_next_best_actions",
    "fct_action_exports",
    "fct_growth_system_health",
}


def _nightly(folder: Path) -> subprocess.CompletedProcess:
    relative = ["--db", "n.duckdb", "--raw-dir", "feed", "--model-store", "models", "--export-dir", "exports",
                "--report-dir", "report", "--no-fail-on-slo-breach"]  # fmt: skip
    env = {**os.environ, "LAWN_IDENTITY_HASH_KEY": TEST_HASH_KEY.secret.decode()}
    env.pop("LAWN_IDENTITY_HASH_KEY_FILE", None)
    lawn = [str(Path(sys.executable).with_name("lawn"))]  # the .venv's command, as a scheduler runs it
    return subprocess.run([*lawn, "nightly", *relative], cwd=folder, env=env, capture_output=True, text=True)


def test_a_young_feed_runs_its_nights_without_churn_scores(tmp_path):
    feed = tmp_path / "feed" / "raw_events"
    feed.mkdir(parents=True)
    (feed / "day1.csv").write_text(HEADER + DAY_1)
    first = _nightly(tmp_path)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-2000:]
    (feed / "day2.csv").write_text(HEADER + DAY_2)
    second = _nightly(tmp_path)
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-2000:]
    for night in (first, second):
        score = next(line for line in (night.stdout + night.stderr).splitlines() if "] score " in line)
        assert " ok " in score and "no churn model yet" in score, score
    assert not (REPO_ROOT / "n.duckdb").exists()  # dbt built the file lawn landed, not one of its own
    with duckdb.connect(str(tmp_path / "n.duckdb"), read_only=True) as con:
        tables = "select table_name from information_schema.tables where table_schema = 'marts'"
        marts = {row[0] for row in con.execute(tables).fetchall()}
        assert marts >= AFTER_SCORING, AFTER_SCORING - marts
        assert str(con.execute("select data_day from marts.fct_data_day").fetchone()[0]) == "2026-11-29"
        assert con.execute("select count(*) from marts.fct_churn_scores").fetchone()[0] == 0
        assert con.execute("select count(*) from marts.fct_events").fetchone()[0] == 5
        statuses = con.execute("select status from ops.nightly_runs order by started_at").fetchall()
    assert [status for (status,) in statuses] == ["success", "success"]
    assert (tmp_path / "report" / "report.html").exists()
