"""The weekly report's "Bandit decisions" block: every allocation a bandit chose in the week
(decision day on or before the as-of day and in the period), with the posterior that drove it.

Reads marts.fct_bandit_arms_daily only: one row per bandit, decision day, context and arm as the
nightly's bandit step wrote it (posterior Beta parameters, P(best), share) and the actions the
night placed. A night's rows are written by that night alone (a re-run replaces them with the
same rows), so a past week's block does not change when later nights run: `--as-of` reproduces
it (tests_py/test_weekly_bandit_decisions.py)."""

from __future__ import annotations

import pandas as pd

from lawn.reports.page import Section
from lawn.reports.reader import Reader

TITLE = "Bandit decisions"


def decisions(r: Reader) -> pd.DataFrame:
    """The week's allocation rows (empty when the warehouse has no bandit mart)."""
    if not r.has_table("marts", "fct_bandit_arms_daily"):
        return pd.DataFrame()
    return r.df(
        """
        select decision_day, bandit_id, context, arm, template_id, share, prob_best, posterior_alpha,
            posterior_beta, posterior_mean, cast(actions_assigned as bigint) as actions_assigned,
            cast(holdout_actions_assigned as bigint) as holdout_actions_assigned
        from marts.fct_bandit_arms_daily
        where decision_day >= $start and decision_day <= $as_of
        order by decision_day, bandit_id, context, arm
        """
    )


def _number(value: float) -> str:
    """A posterior parameter as written: integers without decimals (priors may be fractional)."""
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.2f}"


def sentences(rows: pd.DataFrame) -> list[str]:
    """One line per bandit, night and context: the arms' shares, what drove them, actions placed."""
    lines = []
    for (day, bandit_id, context), night in rows.groupby(["decision_day", "bandit_id", "context"], sort=True):
        favoured = night.sort_values(["share", "arm"], ascending=[False, True]).iloc[0]
        arms = "; ".join(
            f"{row.arm} {row.share:.1%} (P(best) {row.prob_best:.3f}, "
            f"Beta({_number(row.posterior_alpha)}, {_number(row.posterior_beta)}), "
            f"mean {row.posterior_mean:.3f})"
            for row in night.itertuples()
        )
        placed = int(night["actions_assigned"].sum())
        holdout = int(night["holdout_actions_assigned"].sum())
        lines.append(
            f"{pd.Timestamp(day).date()} {bandit_id} ({context}): favoured {favoured['arm']}; "
            f"allocation {arms}; {placed} action{'' if placed == 1 else 's'} placed "
            f"({holdout} in the uniform holdout)"
        )
    return lines


def section(r: Reader) -> Section:
    block = Section(TITLE)
    if not r.has_table("marts", "fct_bandit_arms_daily"):
        return block.text("No bandit marts in this warehouse (marts.fct_bandit_arms_daily), so no decision.")
    rows = decisions(r)
    if rows.empty:
        return block.text("No bandit made a decision this week.")
    nights = rows[["decision_day", "bandit_id", "context"]].drop_duplicates()
    block.text(
        f"{len(nights)} allocations by {rows['bandit_id'].nunique()} bandit(s) this week "
        "(marts.fct_bandit_arms_daily): each night's shares outside the uniform holdout are the "
        "posterior probability of being the best arm (Thompson sampling, Monte Carlo with the recorded "
        "seed), lifted to the exploration floor; the posterior is Beta(prior + rewards, prior + "
        "failures) over the reward windows closed by that night."
    )
    block.bullets(sentences(rows))
    block.subtitle("Allocations and posteriors").table(rows)
    return block
