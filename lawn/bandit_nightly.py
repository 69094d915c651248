"""The nightly's bandit step: each registered bandit (seeds/bandits, marts.dim_bandit_arms)
chooses the variant of its rule's new actions by Thompson sampling (lawn/bandit.py).

For the data day D (the newest feature day):

1. credit: the bandit's own earlier assignments (ml.bandit_assignments, decided before D)
   with the day their account first reached the reward moment (marts.fct_activation) go
   through ``credited_counts``: only windows closed by the end of D count;
2. allocate: one ``Allocation`` per context (``all``, or each segment for a contextual
   bandit), seeded by (bandit, D, context);
3. assign: the rule's actions decided in [D - max_age_days, D] (the ones the export may
   still send), not suppressed and not placed on an earlier day, each on an arm by
   ``assign_units`` (keyed on bandit, D and action id) with its propensity;
4. write ml.bandit_allocations and ml.bandit_assignments: the day's rows of the bandit are
   replaced, so a re-run of the same night gives the same rows, never a second set.

Same data, same rows: the credit reads only rows decided before D, and every random number
is keyed."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from lawn.bandit import BanditError, BanditSpec, allocate, assign_units, credited_counts
from lawn.data_day import DataDayError, data_day
from lawn.settings import ACTION_MAX_AGE_DAYS
from lawn.warehouse import MissingTableError, require_landing_table
from lawn.warehouse_io import connect

ALLOCATIONS = "ml.bandit_allocations"
ASSIGNMENTS = "ml.bandit_assignments"


@dataclass(frozen=True)
class BanditDay:
    bandit_id: str
    decision_day: dt.date
    contexts: int
    credited_pulls: int
    assigned: int


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def load_registry(con: duckdb.DuckDBPyConnection) -> list[tuple[BanditSpec, pd.Series]]:
    """Every enabled bandit as a ``BanditSpec`` (arms in name order) and its registry row."""
    rows = con.query("select * from marts.dim_bandit_arms where is_enabled order by bandit_id, arm")
    specs = []
    for bandit_id, group in rows.groupby("bandit_id", sort=True):
        first = group.iloc[0]
        spec = BanditSpec(
            bandit_id=str(bandit_id),
            arms=tuple(group["arm"]),
            reward_window_days=int(first["reward_window_days"]),
            prior_alpha=float(first["prior_alpha"]),
            prior_beta=float(first["prior_beta"]),
            exploration_floor=float(first["exploration_floor"]),
            holdout_share=float(first["holdout_share"]),
            draws=int(first["draws"]),
        )
        if first["context_column"] not in ("all", "segment"):
            raise BanditError(f"bandit {bandit_id}: context_column must be all or segment")
        specs.append((spec, first))
    return specs


def credit_log(
    con: duckdb.DuckDBPyConnection, spec: BanditSpec, reward_moment: str, day: dt.date
) -> pd.DataFrame:
    """The bandit's assignments decided before ``day`` with the day the account first reached
    the reward moment (null: not yet), as ``credited_counts`` takes them."""
    return con.execute(
        f"""
        select assignments.context, assignments.arm, assignments.decision_day as assigned_on,
            cast(reached.reached_at as date) as rewarded_on
        from {ASSIGNMENTS} as assignments
        left join marts.fct_activation as reached
            on reached.entity_type = 'account' and reached.milestone_kind = 'moment'
            and reached.milestone_name = ? and reached.account_id = assignments.account_id
        where assignments.bandit_id = ? and assignments.decision_day < ?
        order by assignments.decision_day, assignments.action_id
        """,
        [reward_moment, spec.bandit_id, day],
    ).df()


def candidates(
    con: duckdb.DuckDBPyConnection, spec: BanditSpec, rule_id: str, context_column: str, day: dt.date,
    max_age_days: int,
) -> pd.DataFrame:  # fmt: skip
    """The rule's actions the bandit places tonight: the ones the export may still send with
    an arm, decided in [day - max_age_days, day], not placed on an earlier day. So not one
    suppressed (a holdout account gets no prompt), held for review and not approved, already
    exported without this bandit's arm (a `lawn actions export` between two nightlies sent it
    armless: it was never shown an arm, so crediting one biased the posteriors; a probe: 144
    such actions assigned), or reverted before it went out. An action exported with this
    bandit's arm stays a candidate of its own night, so a re-run of that night places it again
    (the draw is keyed on bandit, day and action: the same arm)."""
    context = "coalesce(accounts.segment, 'unknown')" if context_column == "segment" else "'all'"
    return con.execute(
        f"""
        select actions.action_id as unit_id, actions.account_id, {context} as context
        from marts.fct_next_best_actions as actions
        left join marts.dim_accounts as accounts on actions.account_id = accounts.account_id
        where actions.rule_id = ? and not actions.is_suppressed
            and (not actions.needs_review or actions.review_decision = 'approve')
            and actions.decided_on between ? and ?
            and actions.action_id not in (
                select action_id from {ASSIGNMENTS} where bandit_id = ? and decision_day < ?
            )
            and actions.action_id not in (
                select action_id from ops.action_exports
                where record_type = 'action' and (bandit_id is null or bandit_id <> ?)
                union all
                select action_id from ops.action_reversals
                where action_id not in (
                    select action_id from ops.action_exports
                    where record_type = 'action' and bandit_id = ?
                )
            )
        order by actions.action_id
        """,
        [
            rule_id,
            day - dt.timedelta(days=max_age_days),
            day,
            spec.bandit_id,
            day,
            spec.bandit_id,
            spec.bandit_id,
        ],
    ).df()


def decide(
    con: duckdb.DuckDBPyConnection, spec: BanditSpec, registry: pd.Series, day: dt.date, max_age_days: int
) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """(allocation rows, assignment rows, credited pulls) of one bandit for one day."""
    history = credit_log(con, spec, str(registry["reward_moment"]), day)
    counts = credited_counts(spec, history, day)
    units = candidates(
        con, spec, str(registry["rule_id"]), str(registry["context_column"]), day, max_age_days
    )
    if registry["context_column"] == "all":
        contexts = ["all"]
    else:
        contexts = sorted(set(history["context"]) | set(units["context"]))
    allocations = {context: allocate(spec, counts, day, context) for context in contexts}
    allocation_rows = pd.DataFrame(
        [record for context in contexts for record in allocations[context].records()]
    )
    if not allocation_rows.empty:
        allocation_rows["holdout_share"] = spec.holdout_share
    assigned = assign_units(spec, allocations, units[["unit_id", "context"]])
    assigned = assigned.rename(columns={"unit_id": "action_id"}).assign(
        bandit_id=spec.bandit_id,
        decision_day=day,
        account_id=units["account_id"].to_numpy(),
    )
    return allocation_rows, assigned, int(counts["pull"].sum()) if not counts.empty else 0


def run_bandits(
    db_path: Path, as_of: dt.date | None = None, max_age_days: int = ACTION_MAX_AGE_DAYS
) -> list[BanditDay]:
    """Decide every enabled bandit for ``as_of`` (default: the newest feature day) and write
    its allocation and assignments, replacing that day's rows (one transaction)."""
    with connect(db_path) as con:  # a DuckDB path or a warehouse_io target
        for table in ("bandit_allocations", "bandit_assignments"):
            try:
                require_landing_table(con, "ml", table)
            except MissingTableError as exc:
                raise BanditError(str(exc)) from exc
        if as_of is None:
            try:
                as_of = data_day(con)
            except DataDayError as exc:
                raise BanditError(str(exc)) from exc
        done = []
        now = _now()
        with con.transaction():
            for spec, registry in load_registry(con):
                allocation_rows, assigned, pulls = decide(con, spec, registry, as_of, max_age_days)
                for relation in (ALLOCATIONS, ASSIGNMENTS):
                    con.execute(
                        f"delete from {relation} where bandit_id = ? and decision_day = ?",
                        [spec.bandit_id, as_of],
                    )
                if not allocation_rows.empty:
                    con.write_frame(ALLOCATIONS, allocation_rows.assign(allocated_at=now))
                if not assigned.empty:
                    con.write_frame(ASSIGNMENTS, assigned.assign(assigned_at=now))
                contexts = allocation_rows["context"].nunique() if not allocation_rows.empty else 0
                done.append(BanditDay(spec.bandit_id, as_of, contexts, pulls, len(assigned)))
    return done
