"""Test helper: a small hand-written warehouse with the columns the cadence reports read, and
planted truths (docs/cadence_reports.md). AS_OF is a Monday; ``add_later_data`` adds what a
later day brings (new days, a new model, late deliveries of old days)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb
import pandas as pd

AS_OF = dt.date(2026, 6, 15)  # a Monday; the weekly period is 06-09 .. 06-15
D = pd.Timestamp(AS_OF)


def day(offset: int) -> dt.date:
    """The as-of day plus ``offset`` days."""
    return AS_OF + dt.timedelta(days=offset)


def _week_day(weeks_back: int, weekday: int = 2) -> dt.date:
    """A day inside the week ``weeks_back`` weeks before the as-of week (0 = the 7 days ending on AS_OF)."""
    return day(-6 - 7 * weeks_back + weekday)


def events() -> pd.DataFrame:
    rows: list[tuple] = []

    def add(name: str, when: dt.date, account: str, props: dict, received_days: int = 0) -> None:
        received = pd.Timestamp(when) + pd.Timedelta(hours=12) + pd.Timedelta(days=received_days)
        rows.append((name, when, received, account, json.dumps(props)))

    # the rollout: outcome = 2 + 0.5 unit + 0.1 week + 1.5 once adopted (planted ATT 1.5 everywhere)
    adopt = {"n1": None, "n2": None, "n3": None, "t1": 3, "t2": 3, "t3": 1, "t4": 1}
    for unit, (account, adopted) in enumerate(adopt.items()):
        if adopted is not None:
            add(
                "feature_enabled",
                day(-6 - 7 * adopted),
                account,
                {"feature_name": "smart_reminders", "enabled_by": "rollout"},
            )
        add("feature_enabled", day(-20), account, {"feature_name": "automations", "enabled_by": "admin"})
        for weeks_back in range(7):
            week = -weeks_back
            treated = adopted is not None and week >= -adopted
            usage = 2 + 0.5 * unit + 0.1 * (week + 6) + (1.5 if treated else 0.0)
            add(
                "feature_used",
                _week_day(weeks_back, 3),
                account,
                {"feature_name": "create_invoice", "usage_count": usage},
            )
    # signups per week (0 = this week): 20, then 9, 10, 11, 10 -> z = (20 - 10) / 0.816
    for weeks_back, count in enumerate([20, 9, 10, 11, 10]):
        for i in range(count):
            add("signed_up", _week_day(weeks_back, i % 7), f"s{weeks_back}_{i}", {})
    # support tickets by theme: this week billing 3, bug 2; the 4 weeks before 4, 5, 6, 5
    themes = {
        0: ["billing"] * 3 + ["bug"] * 2,
        1: ["billing", "billing", "bug", "how_to"],
        2: ["billing", "billing", "bug", "bug", "how_to"],
        3: ["billing", "billing", "bug", "bug", "bug", "how_to"],
        4: ["billing", "billing", "bug", "bug", "how_to"],
    }
    for weeks_back, topics in themes.items():
        for i, topic in enumerate(topics):
            add("support_ticket_created", _week_day(weeks_back, i % 7), "n1", {"topic": topic})
    # NPS: last 28 days 10, 9, 9, 7, 3 -> 40; the 28 days before 10, 2, 5, 8 -> -25
    for offset, score in zip([-1, -5, -10, -20, -27], [10, 9, 9, 7, 3], strict=True):
        add("nps_submitted", day(offset), "n2", {"score": score})
    for offset, score in zip([-29, -35, -40, -55], [10, 2, 5, 8], strict=True):
        add("nps_submitted", day(offset), "n3", {"score": score})
    # exposures (account-randomised; exp_a runs day -45..-5, exp_b -14..+45): exp_a 7 units
    # exposed, xa7 saw both variants (not included); exp_b: xb1-3 in its dates, xb4 only before
    # its start (exposed, not included), xb5 received after the as-of day, xb6 occurs after it
    for i in range(1, 7):
        add("experiment_exposed", day(-40), f"xa{i}", {"experiment_id": "exp_a", "variant": "control"})
    add("experiment_exposed", day(-40), "xa7", {"experiment_id": "exp_a", "variant": "control"})
    add("experiment_exposed", day(-39), "xa7", {"experiment_id": "exp_a", "variant": "treatment"})
    for i in range(1, 4):
        add("experiment_exposed", day(-3), f"xb{i}", {"experiment_id": "exp_b", "variant": "treatment"})
    add("experiment_exposed", day(-20), "xb4", {"experiment_id": "exp_b", "variant": "control"})
    late = {"experiment_id": "exp_b", "variant": "control"}
    add("experiment_exposed", day(-2), "xb5", late, received_days=3)
    add("experiment_exposed", day(2), "xb6", {"experiment_id": "exp_b", "variant": "control"})
    frame = pd.DataFrame(
        rows, columns=["event_name", "occurred_date", "received_at", "account_id", "properties"]
    )
    return frame.assign(person_id=None)


def later_events() -> pd.DataFrame:
    """What later days bring: new days' events and late deliveries of old days (received after AS_OF)."""
    rows = []
    for offset in range(1, 8):
        for name, props in (
            ("signed_up", {}),
            ("support_ticket_created", {"topic": "bug"}),
            ("nps_submitted", {"score": 0}),
        ):
            rows.append(
                (
                    name,
                    day(offset),
                    pd.Timestamp(day(offset)) + pd.Timedelta(hours=1),
                    "n1",
                    json.dumps(props),
                )
            )
    for offset in (-1, -3, -9):  # late: occurred in the report's window, received after it
        for name, props in (
            ("signed_up", {}),
            ("nps_submitted", {"score": 1}),
            ("feature_used", {"feature_name": "create_invoice", "usage_count": 40}),
            ("support_ticket_created", {"topic": "account"}),
        ):
            rows.append(
                (
                    name,
                    day(offset),
                    pd.Timestamp(AS_OF) + pd.Timedelta(days=1, hours=2),
                    "t1",
                    json.dumps(props),
                )
            )
    frame = pd.DataFrame(
        rows, columns=["event_name", "occurred_date", "received_at", "account_id", "properties"]
    )
    return frame.assign(person_id=None)


def activation() -> pd.DataFrame:
    rows = []
    # current window: 10 accounts created 06-01; 4 sent an invoice by AS_OF, 1 after it
    for i in range(10):
        reached = day(-10) if i < 4 else day(5) if i == 4 else None
        rows += [
            ("account", "account_signed_up", day(-14), day(-14)),
            ("account", "first_invoice_sent", day(-14), reached),
        ]
    # the window before: 5 accounts created 05-01; 3 sent one by 05-18 (AS_OF - 28), 1 after it
    for i in range(5):
        reached = day(-36) if i < 3 else day(-21) if i == 3 else None
        rows += [
            ("account", "account_signed_up", day(-45), day(-45)),
            ("account", "first_invoice_sent", day(-45), reached),
        ]
    rows.append(("user", "first_invoice_sent", day(-3), day(-2)))
    frame = pd.DataFrame(rows, columns=["entity_type", "milestone_name", "anchor_date", "reached_at"])
    frame["reached_at"] = pd.to_datetime(frame["reached_at"]) + pd.Timedelta(hours=9)
    frame["reached_received_at"] = frame["reached_at"] + pd.Timedelta(hours=1)  # received that day
    return frame


def slo_status(last: dt.date = AS_OF) -> pd.DataFrame:
    """act (error): breach 04-10..04-14 (recovers 04-15: 5 days) and 06-10..06-12 (recovers
    06-13: 3 days), too little data 05-01..05-02; conv (warn) passes at 0.9 throughout."""
    rows = []
    for date in pd.date_range("2026-03-16", last):
        d = date.date()
        breach = dt.date(2026, 4, 10) <= d <= dt.date(2026, 4, 14) or dt.date(2026, 6, 10) <= d <= dt.date(
            2026, 6, 12
        )
        thin = dt.date(2026, 5, 1) <= d <= dt.date(2026, 5, 2)
        status = "insufficient_data" if thin else "breach" if breach else "pass"
        # complete_on_date: milestones of 0-day windows, complete on their own day
        rows.append(("act", d, d, "error", ">=", 0.4, 0.3 if breach else 0.5, 0.45, 60, status))
        rows.append(("conv", d, d, "warn", ">=", 0.2, 0.9, 0.9, 40, "pass"))
    return pd.DataFrame(
        rows,
        columns=[
            "slo_id",
            "evaluated_date",
            "complete_on_date",
            "severity",
            "comparator",
            "threshold",
            "metric_value",
            "baseline_value",
            "units",
            "status",
        ],
    )


def data_quality() -> pd.DataFrame:
    """Scores 1.0 except 06-01 and 06-02 (one incident) and 06-08 (another)."""
    rows = []
    for date in pd.date_range("2026-05-01", AS_OF):
        d = date.date()
        low = d in (dt.date(2026, 6, 1), dt.date(2026, 6, 2), dt.date(2026, 6, 8))
        for source in ("web", "server"):
            rows.append(
                (d, source, "page_viewed", 100, 90 if low else 100, 90 if low else 100, 10 if low else 0)
            )
    return pd.DataFrame(
        rows,
        columns=[
            "received_date",
            "source",
            "event_name",
            "first_delivery_count",
            "valid_count",
            "attributed_count",
            "quarantined_count",
        ],
    )


def monitoring() -> pd.DataFrame:
    def check(as_of, version, shadow, name, subject, dim, value, metric, threshold, flagged, run_at):
        return (
            as_of,
            version,
            shadow,
            name,
            subject,
            dim,
            value,
            metric,
            threshold,
            100,
            flagged,
            pd.Timestamp(run_at),
        )

    rows = [
        check(
            day(-36), "v1", False, "auc", "churn_probability", "all", "all", 0.70, 0.6, False, "2026-05-11"
        ),
        check(
            AS_OF, "v1", False, "auc", "churn_probability", "all", "all", 0.69, 0.6, False, "2026-06-16 01:00"
        ),
        check(
            AS_OF, "v3", True, "auc", "churn_probability", "all", "all", 0.99, 0.6, False, "2026-06-16 03:00"
        ),
    ]
    later = "2026-06-16 02:00"  # the last run of the day: v2 is live
    rows += [
        check(AS_OF, "v2", False, "auc", "churn_probability", "all", "all", 0.72, 0.6, False, later),
        check(AS_OF, "v2", False, "auc", "churn_probability", "segment", "smb", 0.55, 0.6, True, later),
        check(
            AS_OF, "v2", False, "auc", "churn_probability", "cohort_month", "2026-04", 0.81, 0.6, False, later
        ),
        check(
            AS_OF, "v2", False, "calibration_gap", "churn_probability", "all", "all", 0.03, 0.05, False, later
        ),
        check(
            AS_OF,
            "v2",
            False,
            "calibration_gap",
            "churn_probability",
            "segment",
            "smb",
            0.08,
            0.05,
            True,
            later,
        ),
        check(AS_OF, "v2", False, "feature_psi", "usage_trend_7d", "all", "all", 0.10, 0.2, False, later),
        check(AS_OF, "v2", False, "feature_psi", "support_tickets_28d", "all", "all", 0.30, 0.2, True, later),
        check(
            day(-20), "v2", False, "auc", "churn_probability", "all", "all", 0.75, 0.6, False, "2026-05-27"
        ),
    ]
    return pd.DataFrame(
        rows,
        columns=[
            "as_of_date",
            "model_version",
            "is_shadow",
            "check_name",
            "subject",
            "slice_dimension",
            "slice_value",
            "metric_value",
            "threshold",
            "row_count",
            "is_flagged",
            "run_at",
        ],
    )


def tables() -> dict[str, pd.DataFrame]:
    readouts = pd.DataFrame(
        [
            ("exp_a", "treatment", "conversion", "primary", 0.05, 0.02, 0.08, 3.1, True, True),
            ("exp_a", "treatment", "tickets", "guardrail", 0.4, 0.1, 0.7, 2.5, True, True),
            ("exp_a", "treatment", "revenue", "secondary", 1.0, -1.0, 3.0, 1.0, False, True),
            ("exp_a", "control", "conversion", "primary", 0.0, 0.0, 0.0, 0.0, True, True),
            ("exp_a", "holdout", "conversion", "primary", 0.2, 0.1, 0.3, 9.0, True, True),
            ("exp_b", "treatment", "conversion", "primary", 0.3, 0.1, 0.5, 8.0, True, True),
        ],
        columns=[
            "experiment_id",
            "variant",
            "metric_name",
            "metric_role",
            "absolute_lift",
            "ci_low",
            "ci_high",
            "test_statistic",
            "is_significant",
            "is_trustworthy",
        ],
    )
    experiments = pd.DataFrame(
        [
            ("exp_a", day(-45), day(-5), 100, day(-48)),
            ("exp_b", day(-14), day(45), 200, day(-20)),
            ("exp_c", day(5), day(35), 50, day(-5)),
            ("exp_d", day(10), day(40), 50, day(5)),
        ],
        columns=["experiment_id", "start_date", "end_date", "planned_sample_size_per_arm", "registered_at"],
    )
    runs = pd.DataFrame(
        [
            ("r1", day(-10), "failed", "build", 0),
            ("r2", day(-3), "success", None, 0),
            ("r3", day(-2), "failed", "score", 0),
            ("r4", day(-1), "slo_breach", None, 1),
            ("r5", AS_OF, "running", None, 0),
        ],
        columns=["run_id", "as_of_date", "status", "failed_step", "slo_breaches"],
    )
    qa = pd.DataFrame(
        [
            (day(-5), "series", "signed_up", "ios", "ios", 1, 0, 40.0, "stopped", True),
            (day(-3), "series", "page_viewed", "web", "web", 1, 10, 100.0, "volume_drop", True),
            (day(-14), "event", "logged_in", "all", "all", 0, 500, 100.0, "volume_spike", True),
            (day(-4), "series", "logged_in", "web", "web", 1, 100, 100.0, None, False),
        ],
        columns=[
            "activity_date",
            "rollup_level",
            "event_name",
            "source",
            "platform",
            "schema_version",
            "event_count",
            "expected_count",
            "flag_reason",
            "is_flagged",
        ],
    )
    return {
        "marts.fct_data_day": pd.DataFrame(
            {"data_day": [pd.Timestamp(AS_OF).date()], "data_start_date": [events()["occurred_date"].min()]}
        ),
        "marts.fct_account_features_daily": pd.DataFrame(
            {"feature_date": pd.date_range("2026-03-01", AS_OF).date}
        ),
        "marts.fct_funnel": pd.DataFrame(
            {"funnel_step": [1, 2], "step_name": ["account_signed_up", "first_invoice_sent"]}
        ),
        "marts.fct_activation": activation(),
        "marts.fct_slo_status": slo_status(),
        "marts.fct_data_quality_daily": data_quality(),
        "marts.fct_events": events(),
        "marts.fct_experiment_readouts": readouts,
        "marts.fct_instrumentation_qa_daily": qa,
        "marts.fct_model_monitoring": monitoring(),
        "marts.dim_experiments": experiments.assign(
            experiment_kind="experiment", randomization_unit="account"
        ),
        "registry.experiment_metrics": pd.DataFrame(
            {"metric_name": ["conversion", "tickets", "revenue"], "is_higher_better": [True, False, True]}
        ),
        "ops.nightly_runs": runs,
        **compliance_tables(),
    }


# ------------------------------------------------------------------ compliance (issue 13)
# quarter 2026-03-16 .. 06-15; operational records of days 03-17 .. 06-16 belong to it


def _ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text)


def retention_audit() -> pd.DataFrame:
    """Runs dated by their reference (cutoff + keep_days): A applied 04-01, B dry 06-16,
    C applied 03-16 (before the window), D applied 06-17 (after it), F applied 06-16."""

    def row(run, relation, cls, action, keep, column, reference, rows, dry):
        cutoff = _ts(reference) - pd.Timedelta(days=keep)
        return (f"{run}:{relation}", run, relation, cls, action, keep, column, cutoff, rows, dry,
                _ts(reference) + pd.Timedelta(hours=2))  # fmt: skip

    rows = [
        row("A", "ml.churn_scores", "model_scores", "delete", 365, "feature_date", "2026-04-01", 5, False),
        row("A", "marts.fct_quarantined_events", "quarantine_payload", "anonymise", 30, "received_at",
            "2026-04-01", 7, False),
        row("B", "ml.churn_scores", "model_scores", "delete", 365, "feature_date", "2026-06-16", 3, True),
        row("C", "ml.churn_scores", "model_scores", "delete", 365, "feature_date", "2026-03-16", 100, False),
        row("D", "ml.churn_scores", "model_scores", "delete", 365, "feature_date", "2026-06-17", 50, False),
        row("F", "ops.action_exports", "action_ledger", "delete", 730, "exported_at", "2026-06-16", 2, False),
    ]  # fmt: skip
    return pd.DataFrame(
        rows,
        columns=["retention_audit_key", "run_id", "relation_name", "retention_class", "policy_action",
                 "keep_days", "time_column", "cutoff_at", "rows_affected", "is_dry_run", "applied_at"],
    )  # fmt: skip


def erasure_requests() -> pd.DataFrame:
    """e1 and e2 completed in the window (5 s and 30 s), e3 before it, e4 after it."""
    rows = [
        ("e1", "email", "h1", 4, 120, 0, _ts("2026-04-10 10:00:00"), _ts("2026-04-10 10:00:05"), 4.8),
        ("e2", "user-id", "h2", 2, 40, 1, _ts("2026-06-16 23:58:30"), _ts("2026-06-16 23:59:00"), 29.5),
        ("e3", "email", "h3", 1, 9, 0, _ts("2026-03-16 08:00:00"), _ts("2026-03-16 08:01:00"), 60.0),
        ("e4", "person-id", "h4", 3, 7, 0, _ts("2026-06-17 00:00:10"), _ts("2026-06-17 00:00:20"), 10.0),
    ]
    return pd.DataFrame(
        rows,
        columns=["request_id", "requested_by_type", "person_hash", "identifiers_erased", "rows_erased",
                 "files_rewritten", "requested_at", "completed_at", "seconds_taken"],
    )  # fmt: skip


def retained_tables() -> dict[str, pd.DataFrame]:
    """Three tables of seeds/governance/retention_tables.csv, with rows on both sides of their
    cutoffs at the end of the as-of day (reference 06-16 00:00)."""
    return {
        # model_scores, 365 days: cutoff 2025-06-16; past: 2025-01-01, 2025-06-15
        "ml.churn_scores": pd.DataFrame(
            {"feature_date": pd.to_datetime(["2025-01-01", "2025-06-15", "2025-06-16", "2026-01-01"]).date}
        ),
        # quarantine_payload, 30 days, anonymise: cutoff 2026-05-17 00:00; past and still holding
        # something: 05-01 and 05-16 23:59 (05-02 is already anonymised)
        "marts.fct_quarantined_events": pd.DataFrame(
            {
                "received_at": pd.to_datetime(
                    ["2026-05-01 00:00", "2026-05-02 00:00", "2026-05-16 23:59", "2026-05-20 00:00"]
                ),
                "anonymous_id": ["a1", None, None, "a4"],
                "device_id": [None, None, "d3", None],
                "user_id": ["u1", None, None, "u4"],
                "account_id": [None, None, None, "c4"],
            }
        ),
        # action_ledger, 730 days: cutoff 2024-06-16; nothing past
        "ops.action_exports": pd.DataFrame({"exported_at": pd.to_datetime(["2026-06-01", "2024-06-16"])}),
    }


def compliance_tables() -> dict[str, pd.DataFrame]:
    return {
        "marts.fct_retention_audit": retention_audit(),
        "marts.fct_erasure_requests": erasure_requests(),
        **retained_tables(),
    }


DICTIONARY_COLUMNS = ["resource_type", "model", "schema", "column", "type", "description", "owner", "purpose",
                      "data_class", "retention_class", "meta_from", "lineage", "raw_field"]  # fmt: skip


def dictionary() -> pd.DataFrame:
    """A hand-written data dictionary (lawn catalog's CSV). Planted: direct PII 2 in pii, 1
    keyed-hash stand-in in marts (email_key), 1 in clear in marts (fct_bad.ip_address);
    indirect PII 1 in pii, 2 in clear in marts; a seed column without retention class and
    description; a class the catalog does not declare (mystery_class)."""

    def col(kind, model, schema, column, data_class, retention, description="d", meta_from="own"):
        return (kind, model, schema, column, "varchar", description, "data", "p", data_class, retention,
                meta_from, f"{model}.{column}", "")  # fmt: skip

    rows = [
        col("source", "tracking.raw_events", "raw", "properties", "direct_pii", "raw_events"),
        col("model", "stg_a", "staging", "email", "direct_pii", "identity"),
        col("model", "pii_users", "pii", "email", "direct_pii", "identity", meta_from="stg_a.email"),
        col("model", "pii_users", "pii", "first_name", "direct_pii", "identity"),
        col("model", "pii_users", "pii", "email_domain", "indirect_pii", "identity"),
        col("model", "dim_users", "marts", "email_key", "pseudonymous", "identity"),
        col("model", "dim_users", "marts", "email_domain", "indirect_pii", "identity"),
        col("model", "dim_users", "marts", "user_id", "pseudonymous", "identity"),
        col("model", "fct_b", "marts", "mrr_usd", "business", "business_record"),
        col("model", "fct_b", "marts", "payload_key", "pseudonymous", "raw_events"),
        col("model", "fct_b", "marts", "comment", "indirect_pii", "mystery_class"),
        col("model", "fct_bad", "marts", "ip_address", "direct_pii", "raw_events"),
        col("seed", "s", "registry", "note", "operational", "", description=""),
    ]
    return pd.DataFrame(rows, columns=DICTIONARY_COLUMNS)


def write_dictionary(path: Path) -> Path:
    dictionary().to_csv(path, index=False)
    return path


def write_warehouse(path: Path, frames: dict[str, pd.DataFrame] | None = None) -> Path:
    with duckdb.connect(str(path)) as con:
        for name, frame in (frames or tables()).items():
            schema = name.split(".")[0]
            con.execute(f"create schema if not exists {schema}")
            con.register("frame", frame)
            con.execute(f"create or replace table {name} as select * from frame")
            con.unregister("frame")
    return path


def add_later_data(path: Path) -> None:
    """Ten more data days, a new live model, later runs and SLO days, late deliveries."""
    with duckdb.connect(str(path)) as con:
        for offset in range(1, 11):
            con.execute("insert into marts.fct_account_features_daily values (?)", [day(offset)])
        con.execute("update marts.fct_data_day set data_day = ?", [day(10)])
        # a late delivery of an old milestone: an account of the current window sent its first
        # invoice on AS_OF - 3, received on AS_OF + 2 (the AS_OF report did not know it)
        con.execute(
            "update marts.fct_activation set reached_at = ?, reached_received_at = ? where rowid = ("
            "select min(rowid) from marts.fct_activation where entity_type = 'account' "
            "and milestone_name = 'first_invoice_sent' and anchor_date = ? and reached_at is null)",
            [pd.Timestamp(day(-3)) + pd.Timedelta(hours=9), pd.Timestamp(day(2)), day(-14)],
        )
        con.register("later", later_events())
        con.execute("insert into marts.fct_events select * from later")
        con.register("slo", slo_status(day(10)).query("evaluated_date > @AS_OF"))
        con.execute("insert into marts.fct_slo_status select * from slo")
        con.execute("insert into ops.nightly_runs values ('r6', ?, 'failed', 'build', 0)", [day(3)])
        con.execute("update ops.nightly_runs set status = 'success' where run_id = 'r5'")
        con.execute(
            "insert into marts.fct_data_quality_daily values (?, 'web', 'page_viewed', 100, 50, 50, 50)",
            [day(2)],
        )
        con.execute(
            "insert into marts.fct_model_monitoring values (?, 'v9', false, 'auc', 'churn_probability', "
            "'all', 'all', "
            "0.5, 0.6, 10, true, ?)",
            [day(3), pd.Timestamp(day(4))],
        )
        con.execute(
            "insert into marts.fct_instrumentation_qa_daily values "
            "(?, 'series', 'x', 'web', 'web', 1, 0, 9, 'stopped', true)",
            [day(1)],
        )
        # compliance: a later retention run purges what was past its policy, a later erasure
        con.execute("delete from ml.churn_scores where feature_date < '2025-06-16'")
        con.execute("update marts.fct_quarantined_events set user_id = null, anonymous_id = null")
        con.execute(
            "insert into marts.fct_retention_audit values ('G:ml.churn_scores', 'G', 'ml.churn_scores', "
            "'model_scores', 'delete', 365, 'feature_date', ?, 2, false, ?)",
            [pd.Timestamp(day(4)) - pd.Timedelta(days=365), pd.Timestamp(day(4))],
        )
        con.execute(
            "insert into marts.fct_erasure_requests values ('e5', 'email', 'h5', 1, 3, 0, ?, ?, 1.0)",
            [pd.Timestamp(day(5)), pd.Timestamp(day(5)) + pd.Timedelta(seconds=1)],
        )


def write_model_store(store: Path) -> Path:
    for version, auc in (("v1", "0.700"), ("v2", "0.720")):
        (store / version).mkdir(parents=True, exist_ok=True)
        (store / version / "model_card.md").write_text(
            f"# Churn-risk model {version}\n\n- Features: a, b\n- Test AUC: {auc}\n"
        )
    return store


def write_manifest(path: Path) -> Path:
    """Two lawn models, 5 columns: 4 described, owner on 2 (one in config.meta), data_class on 1."""

    def column(description: str, meta: dict | None = None, config_meta: dict | None = None) -> dict:
        return {"description": description, "meta": meta or {}, "config": {"meta": config_meta or {}}}

    nodes = {
        "model.lawn.stg_a": {
            "resource_type": "model",
            "package_name": "lawn",
            "name": "stg_a",
            "original_file_path": "models/staging/x/stg_a.sql",
            "columns": {"a_id": column("key", {"owner": "data", "data_class": "internal"}), "b": column("")},
        },
        "model.lawn.fct_b": {
            "resource_type": "model",
            "package_name": "lawn",
            "name": "fct_b",
            "original_file_path": "models/marts/x/fct_b.sql",
            "columns": {
                "b_id": column("key", config_meta={"owner": "growth", "purpose": "kpi"}),
                "c": column("c"),
                "d": column("d", {"owner": ""}),
            },
        },
        "model.other.z": {
            "resource_type": "model",
            "package_name": "other",
            "name": "z",
            "original_file_path": "models/z.sql",
            "columns": {"z": column("")},
        },
        "seed.lawn.s": {
            "resource_type": "seed",
            "package_name": "lawn",
            "name": "s",
            "original_file_path": "seeds/s.csv",
            "columns": {"s": column("")},
        },
    }
    path.write_text(json.dumps({"metadata": {"project_name": "lawn"}, "nodes": nodes}))
    return path
