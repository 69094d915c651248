"""What the nightly report shows, read from the marts (one query per section)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from lawn.data_day import data_day

QUERIES = {
    "funnel": """
        select funnel_step, step_name, sum(accounts_reached) as accounts
        from marts.fct_funnel group by funnel_step, step_name order by funnel_step
    """,
    "retention": """
        select cohort_start, period_number, retention_rate
        from marts.fct_retention_cohorts
        where entity_type = 'account' and period_type = 'week' and is_complete and period_number <= 12
        order by cohort_start, period_number
    """,
    "mrr_month": """
        select month_start, sum(mrr_usd) as mrr_usd
        from marts.fct_mrr group by month_start order by month_start
    """,
    "movements": """
        select month_start, movement_type, sum(movement_usd) as movement_usd, count(*) as accounts
        from marts.fct_mrr_movements group by month_start, movement_type order by month_start
    """,
    "readouts": """
        select experiment_id, variant, metric_name, metric_role, metric_type, absolute_lift, ci_low, ci_high,
            control_estimate, p_value, is_significant, is_trustworthy
        from marts.fct_experiment_readouts order by experiment_id, metric_role desc, metric_name, variant
    """,
    "automation_lift": """
        select rule_id, outcome_name, automated_observed, holdout_observed, automated_rate, holdout_rate,
            lift, lift_ci_lower, lift_ci_upper, p_value, p_value_bh, actions_decided, actions_suppressed,
            suppressed_share, srm_p_value, is_outcome_higher_better
        from marts.fct_automation_lift order by rule_id
    """,
    "quality": """
        select received_date, sum(first_delivery_count) as first_deliveries,
            sum(valid_count) * 1.0 / nullif(sum(first_delivery_count), 0) as valid_share,
            sum(attributed_count) * 1.0 / nullif(sum(first_delivery_count), 0) as data_quality_score
        from marts.fct_data_quality_daily group by received_date order by received_date
    """,
    "slo_history": """
        select slo_id, evaluated_date, metric_value, threshold, status
        from marts.fct_slo_status order by slo_id, evaluated_date
    """,
    "slo_latest": """
        select slo_id, severity, comparator, threshold, metric_value, baseline_value, units, status
        from marts.fct_slo_status where is_latest order by slo_id
    """,
    "root_causes": """
        select slo_id, dimension_name, dimension_value, contribution, adverse_rank
        from marts.fct_slo_root_causes where adverse_rank <= 3 order by slo_id, adverse_rank
    """,
    "monitoring": """
        select model_version, is_shadow, check_name, subject, slice_dimension, slice_value, metric_value,
            threshold, row_count, is_flagged
        from marts.fct_model_monitoring
        where as_of_date = (select max(as_of_date) from marts.fct_model_monitoring)
            and (is_shadow or model_version = (
                select max_by(model_version, run_at) from marts.fct_model_monitoring where not is_shadow
            ))
        order by is_shadow, check_name, slice_dimension, slice_value, subject
    """,
    "actions": """
        select decided_on, rule_id, count(*) as decided,
            count(case when is_suppressed then 1 end) as suppressed,
            count(case when is_reverted then 1 end) as reverted
        from marts.fct_next_best_actions group by decided_on, rule_id order by decided_on, rule_id
    """,
    "exports": """
        select run_id, record_type, action_id, rule_id, decided_on, exported_at, hours_to_action
        from marts.fct_action_exports order by run_id, record_type, action_id
    """,
    "health": "select * from marts.fct_growth_system_health order by month_start",
    # retention (docs/privacy.md): every audit row; the report shows this run's or the latest run's
    "retention_audit": """
        select run_id, relation_name, retention_class, policy_action, keep_days, cutoff_at,
            rows_affected, is_dry_run, applied_at
        from marts.fct_retention_audit order by applied_at, run_id, relation_name
    """,
    # instrumentation QA: the flags of the last INSTRUMENTATION_DAYS days of data
    "instrumentation": """
        select activity_date, rollup_level, event_name, source, platform, schema_version,
            event_count, expected_count, on_time_count, flag_reason
        from marts.fct_instrumentation_qa_daily
        where is_flagged and activity_date > (
            select max(activity_date) from marts.fct_instrumentation_qa_daily
        ) - interval 7 day
        order by activity_date desc, rollup_level, event_name, source, platform, schema_version
    """,
}
INSTRUMENTATION_DAYS = 7


@dataclass
class ReportData:
    as_of_date: object
    frames: dict[str, pd.DataFrame]

    def __getitem__(self, name: str) -> pd.DataFrame:
        return self.frames[name]


def load_report_data(db_path: Path) -> ReportData:
    with duckdb.connect(str(db_path), read_only=True) as con:
        frames = {name: con.execute(sql).df() for name, sql in QUERIES.items()}
        as_of = data_day(con)
    return ReportData(as_of, frames)
