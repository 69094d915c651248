"""The nightly report's adaptive-decision sections: the live uplift models (Qini curve, AUUC) and
the bandits (allocation over time, posteriors with intervals, regret estimated by IPW).

Reads public marts and the uplift model store only (lawn/bandit_report.py,
lawn/uplift_report.py). Without a bandit decision or a live uplift model a section says so in
one line."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from lawn import bandit_report, uplift_report
from lawn.report import _markdown_table, _table

SHARE_NIGHTS = 7  # the allocation table lists the last nights; the plot shows them all

REGRET_NOTE = (
    "Regret is an estimate, by inverse-propensity weighting (IPW): each arm's reward rate is its "
    "Horvitz-Thompson estimate over the closed reward windows (reward / propensity, averaged over "
    "all closed units of the bandit and context), the best arm is the one with the highest "
    "estimate; a night's regret is the sum over arms of actions placed x (best rate - arm rate); "
    "uniform allocation's is actions x (best rate - the mean of the arms' IPW rates), and by the "
    "uniform holdout actions x (best rate - the holdout's observed rate). Today's estimates are "
    "used for every past night; when the arms do not really differ the figure is noise (the "
    "readout's always-valid interval says whether they do)."
)
NO_BANDIT = "No bandit has made a decision yet (no row in marts.fct_bandit_arms_daily)."
NO_UPLIFT = "No live uplift model (train one with `lawn uplift train --model <id>`)."


@dataclass
class Part:
    """One section: its HTML, its Markdown lines and the PNG plots it embeds."""

    html: list[str] = field(default_factory=list)
    markdown: list[str] = field(default_factory=list)
    plots: dict[str, bytes] = field(default_factory=dict)

    def heading(self, text: str, level: int = 2) -> None:
        self.html.append(f"<h{level}>{html.escape(text)}</h{level}>")
        self.markdown += ["#" * level + " " + text, ""]

    def text(self, line: str) -> None:
        self.html.append(f"<p>{html.escape(line)}</p>")
        self.markdown += [line, ""]

    def table(self, frame: pd.DataFrame) -> None:
        frame = frame.copy()
        for column in frame.columns:
            if column.endswith("_day"):  # dates as ISO days, not midnight timestamps
                frame[column] = pd.to_datetime(frame[column]).dt.strftime("%Y-%m-%d")
        self.html.append(_table(frame))
        self.markdown += [_markdown_table(frame), ""]

    def plot(self, name: str, png: bytes, caption: str) -> None:
        self.plots[name] = png
        self.html.append(
            f'<figure><img class="plot" alt="{html.escape(name)}" src="data:image/png;base64,'
            f'{_b64(png)}"><figcaption>{html.escape(caption)}</figcaption></figure>'
        )
        self.markdown += [f"![{name}]({name}.png)", ""]

    def extend(self, other: Part) -> None:
        self.html += other.html
        self.markdown += other.markdown
        self.plots.update(other.plots)


def _b64(png: bytes) -> str:
    import base64

    return base64.b64encode(png).decode()


def _name(text: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in text)


def uplift_part(db_path: Path, store: Path | None) -> Part:
    part = Part()
    part.heading("Uplift models")
    views, problems = uplift_report.load_views(db_path, store) if store else ([], [])
    if not views and not problems:
        part.text(NO_UPLIFT)
        return part
    for line in problems:
        part.text(line)
    for found in views:
        part.heading(f"{found.model_id} (live version {found.version}, {found.learner})", 3)
        recorded = found.recorded
        if found.held_out_rows:
            part.text(
                f"Held out at training: {found.held_out_rows} accounts (the keyed 30% the model never "
                f"saw), recomputed from marts.fct_uplift_training_examples: Qini coefficient "
                f"{found.qini_coefficient:.5f}, AUUC {found.auuc:.5f}, incremental outcomes if all were "
                f"treated {found.incremental_total:.2f}. The card recorded {recorded['qini_coefficient']:.5f}"
                f" / {recorded['auuc']:.5f} on {recorded['rows']} accounts."
            )
            part.plot(f"uplift_{_name(found.model_id)}", uplift_report.qini_plot(found),
                      f"Qini curve of {found.model_id} on held-out accounts")  # fmt: skip
        else:
            part.text(
                f"The held-out accounts are no longer in marts.fct_uplift_training_examples; as the "
                f"model card recorded at training on {recorded['rows']} held-out accounts: Qini "
                f"coefficient {found.qini_coefficient:.5f}, AUUC {found.auuc:.5f}."
            )
        part.text("Predicted vs observed uplift by decile of predicted uplift (held-out accounts):")
        part.table(found.calibration)
    return part


def bandit_part(db_path: Path) -> Part:
    part = Part()
    part.heading("Bandits")
    if not bandit_report.has_bandit_marts(db_path):
        part.text(NO_BANDIT)
        return part
    report = bandit_report.load_bandit_report(db_path)
    if report.allocation.empty:
        part.text(NO_BANDIT)
        return part
    shares = bandit_report.allocation_shares(report)
    posteriors = bandit_report.posterior_intervals(report)
    regret = bandit_report.regret_by_day(report)
    for bandit_id, rows in shares.groupby("bandit_id", sort=True):
        nights = sorted(rows["decision_day"].unique())
        part.heading(f"{bandit_id}: {len(nights)} nights, {int(rows['actions_assigned'].sum())} actions", 3)
        for context in sorted(rows["context"].unique()):
            part.plot(f"bandit_{_name(bandit_id)}_{_name(context)}",
                      bandit_report.allocation_plot(report, bandit_id, context),
                      f"{bandit_id} ({context}): allocation over time and latest posteriors")  # fmt: skip
        busy = sorted(rows.loc[rows["actions_assigned"] > 0, "decision_day"].unique()) or nights
        shown = busy[-SHARE_NIGHTS:]
        part.text(
            f"Allocation on the last {len(shown)} nights that placed actions: share = the allocation "
            "outside the uniform holdout, realised_share = the arm's share of the night's actions "
            "(holdout included)."
        )
        part.table(rows[rows["decision_day"].isin(shown)])
        part.text("Posteriors on the latest night: Beta(alpha, beta), mean and 95% equal-tailed interval.")
        part.table(posteriors[posteriors["bandit_id"] == bandit_id])
        mine = regret[regret["bandit_id"] == bandit_id]
        if mine.empty:
            part.text("Regret: no reward window has closed yet, so there is no estimate.")
            continue
        last = mine.iloc[-1]
        closed = report.outcomes[
            (report.outcomes["bandit_id"] == bandit_id)
            & report.outcomes["is_window_closed"].fillna(False).astype(bool)
        ]
        holdout = int(closed["is_holdout"].astype(bool).sum())
        by_holdout = (
            f"{last['cumulative_holdout_regret']:.2f} by the uniform holdout's observed rate "
            f"({holdout} closed holdout units)"
            if pd.notna(last["cumulative_holdout_regret"])
            else "none by the uniform holdout (no closed reward window in it)"
        )
        part.text(
            f"Cumulative regret estimated by IPW over {int(mine['actions'].sum())} actions "
            f"({len(closed)} with a closed reward window): bandit {last['cumulative_bandit_regret']:.2f}, "
            f"uniform allocation {last['cumulative_uniform_regret']:.2f} ({by_holdout}). {REGRET_NOTE}"
        )
        part.plot(f"bandit_{_name(bandit_id)}_regret", bandit_report.regret_plot(regret, bandit_id),
                  f"{bandit_id}: cumulative regret estimated by IPW")  # fmt: skip
        part.table(mine[mine["actions"] > 0].tail(SHARE_NIGHTS))
    readout = report.readout
    if len(readout):
        part.heading("Readout: IPW vs the uniform holdout (always-valid)", 3)
        part.table(readout)
    return part


def sections(db_path: Path, uplift_store: Path | None) -> Part:
    """The two sections, uplift first."""
    found = uplift_part(db_path, uplift_store)
    found.extend(bandit_part(db_path))
    return found
