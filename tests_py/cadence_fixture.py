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
    return pd.DataFrame(
        rows, columns=["event_name", "occurred_date", "received_at", "account_id", "properties"]
    )


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
    return pd.DataFrame(
        rows, columns=["event_name", "occurred_date", "received_at", "account_id", "properties"]
    )


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
        rows.append(("act", d, "error", ">=", 0.4, 0.3 if breach else 0.5, 0.45, 60, status))
        rows.append(("conv", d, "warn", ">=", 0.2, 0.9, 0.9, 40, "pass"))
    return pd.DataFrame(
        rows,
        columns=[
            "slo_id",
            "evaluated_date",
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
    assignments = pd.DataFrame(
        [("exp_a", True, pd.Timestamp(day(-40)))] * 6
        + [("exp_a", False, pd.Timestamp(day(-40)))]
        + [("exp_b", True, pd.Timestamp(day(-3)))] * 3
        + [("exp_b", True, pd.Timestamp(day(2)))] * 2,
        columns=["experiment_id", "is_included", "first_exposed_at"],
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
        "marts.fct_experiment_assignments": assignments,
        "marts.fct_instrumentation_qa_daily": qa,
        "marts.fct_model_monitoring": monitoring(),
        "staging.stg_experimentation__experiments": experiments,
        "registry.experiment_metrics": pd.DataFrame(
            {"metric_name": ["conversion", "tickets", "revenue"], "is_higher_better": [True, False, True]}
        ),
        "ops.nightly_runs": runs,
    }


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
