"""The nightly run report: a static HTML page (plots embedded as PNG) and a Markdown summary
with the daily health and a weekly readout (top wins and risks)."""

from __future__ import annotations

import base64
import datetime as dt
import html
from pathlib import Path

import pandas as pd

from lawn import report_plots
from lawn.report_data import INSTRUMENTATION_DAYS, ReportData, load_report_data

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1000px; color: #222; }
h1 { margin-bottom: 0; } .sub { color: #666; margin-top: 0.2em; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.9em; }
td, th { border: 1px solid #ddd; padding: 0.25em 0.6em; text-align: left; }
.ok { color: #2e7d32; } .bad { color: #c62828; font-weight: bold; } figure { margin: 1em 0; }
img.plot { max-width: 100%; border: 1px solid #eee; }
"""

LIFT_COLUMNS = ("rule_id", "outcome_name", "automated_rate", "holdout_rate", "lift", "lift_ci_lower",
                "lift_ci_upper", "p_value", "p_value_bh", "suppressed_share")  # fmt: skip

# marks each plot drawn (decoded, non-zero size) so a headless browser can check the page
RENDER_CHECK = """
<script>
window.addEventListener('load', function () {
  var plots = document.querySelectorAll('img.plot'), drawn = 0;
  plots.forEach(function (img) {
    var ok = img.complete && img.naturalWidth > 0 && img.naturalHeight > 0;
    img.setAttribute('data-drawn', ok ? 'yes' : 'no'); if (ok) { drawn += 1; }
  });
  var check = document.getElementById('render-check');
  check.textContent = drawn + ' of ' + plots.length + ' plots drawn';
  check.setAttribute('data-drawn', drawn); check.setAttribute('data-plots', plots.length);
});
</script>
"""


def _fmt(value: object, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def health_lines(data: ReportData, state: dict) -> list[tuple[str, str]]:
    """(label, value) pairs of the daily health summary."""
    mrr, quality, slo = data["mrr_month"], data["quality"], data["slo_latest"]
    exports = data["exports"]
    this_run = exports[exports["run_id"] == state.get("run_id")]
    monitoring = data["monitoring"]
    auc = monitoring[(monitoring["check_name"] == "auc") & (monitoring["slice_dimension"] == "all")
                     & ~monitoring["is_shadow"]]  # fmt: skip
    hours = exports.loc[exports["record_type"] == "action", "hours_to_action"].dropna()
    lift = data["automation_lift"]
    suppressed = lift["actions_suppressed"].sum() / max(lift["actions_decided"].sum(), 1)
    return [
        ("data day", str(data.as_of_date)),
        ("MRR (latest month)", f"{mrr['mrr_usd'].iloc[-1]:,.0f} USD" if not mrr.empty else "-"),
        (
            "data quality score (latest day)",
            _fmt(quality["data_quality_score"].iloc[-1] if len(quality) else None),
        ),
        ("SLOs", ", ".join(f"{r.slo_id}: {r.status}" for r in slo.itertuples()) or "none"),
        ("churn model AUC (known outcomes)", _fmt(auc["metric_value"].iloc[0]) if len(auc) else "-"),
        ("monitoring flags", str(int(monitoring["is_flagged"].sum()))),
        ("actions exported this run", str(int((this_run["record_type"] == "action").sum()))),
        ("reversals exported this run", str(int((this_run["record_type"] == "reversal").sum()))),
        ("share of actions suppressed by the holdout", f"{suppressed:.1%}"),
        ("median hours from insight to action", _fmt(float(hours.median()), 1) if len(hours) else "-"),
    ]


def weekly_readout(data: ReportData) -> tuple[list[str], list[str]]:
    """Top wins and risks of the last 7 days (at most 3 each, most important first)."""
    wins, risks = [], []
    readouts = data["readouts"]
    good = readouts[
        (readouts["metric_role"] == "primary")
        & (readouts["variant"] != "holdout")  # the holdout arm is an A/A check, not a result
        & readouts["is_significant"].fillna(False).astype(bool)
        & readouts["is_trustworthy"].fillna(False).astype(bool)
    ]
    for row in good.sort_values("p_value").itertuples():
        direction = "raised" if row.absolute_lift > 0 else "lowered"
        wins.append(f"{row.experiment_id} ({row.variant}) {direction} {row.metric_name} by "
                    f"{row.absolute_lift:+.3f} [{row.ci_low:+.3f}, {row.ci_high:+.3f}]")  # fmt: skip
    for row in data["automation_lift"].itertuples():
        if pd.notna(row.p_value_bh) and row.p_value_bh < 0.05:
            better = (row.lift > 0) == bool(row.is_outcome_higher_better)
            text = f"automation rule {row.rule_id}: {row.outcome_name} {row.lift:+.3f} vs holdout"
            text += f" (p {row.p_value:.3f}, BH {row.p_value_bh:.3f})"
            (wins if better else risks).append(text)
    for row in data["slo_latest"].itertuples():
        if row.status == "breach":
            text = f"SLO {row.slo_id} breached ({row.severity}): {row.metric_value:.3f} vs {row.threshold}"
            risks.insert(0, text)
    causes = data["root_causes"]
    for row in causes[causes["adverse_rank"] == 1].itertuples():
        if any(row.slo_id in risk for risk in risks):
            risks.insert(1, f"likely cause of {row.slo_id}: {row.dimension_name} = {row.dimension_value}")
    flagged = data["monitoring"][data["monitoring"]["is_flagged"] & ~data["monitoring"]["is_shadow"]]
    if len(flagged):
        risks.append(f"churn model: {len(flagged)} monitoring checks flagged "
                     f"({', '.join(sorted(set(flagged['check_name'])))})")  # fmt: skip
    quality = data["quality"].tail(7)
    low = quality[quality["data_quality_score"] < 0.98]
    if len(low):
        risks.append(f"data quality below 0.98 on {len(low)} of the last {len(quality)} days")
    movements = data["movements"]
    if len(movements):
        # the data day's month: fct_mrr_movements has rows only for months with a movement,
        # so its newest month may be an earlier one (a quiet month's figures are 0)
        month = pd.Timestamp(data.as_of_date).to_period("M").to_timestamp()
        last = movements[pd.to_datetime(movements["month_start"]) == month]
        churn = last[last["movement_type"] == "churn"]["movement_usd"].sum()
        growth = last[last["movement_type"].isin(["new", "expansion", "reactivation"])]["movement_usd"].sum()
        wins.append(f"new, expansion and reactivation MRR this month: +{growth:,.0f} USD")
        if churn < 0:
            risks.append(f"churned MRR this month: {churn:,.0f} USD")
    return wins[:3], risks[:3]


def _items(lines: list[str], css: str) -> str:
    return "".join(f"<li class='{css}'>{html.escape(line)}</li>" for line in lines)


def _table(frame: pd.DataFrame) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_fmt(v))}</td>" for v in row) + "</tr>"
        for row in frame.itertuples(index=False)
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _markdown_table(frame: pd.DataFrame) -> str:
    lines = ["| " + " | ".join(map(str, frame.columns)) + " |", "|" + "---|" * len(frame.columns)]
    lines += ["| " + " | ".join(_fmt(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join(lines)


def retention_rows(audit: pd.DataFrame, state: dict) -> tuple[str, pd.DataFrame]:
    """The retention audit rows to show: this nightly run's retention step (run id
    ``<run_id>-retention``), else the latest run's; with a sentence saying which."""
    columns = ["relation_name", "retention_class", "policy_action", "keep_days", "cutoff_at", "rows_affected"]
    audit = audit.assign(cutoff_at=pd.to_datetime(audit["cutoff_at"]).dt.strftime("%Y-%m-%d %H:%M"))
    this_run = audit[audit["run_id"] == f"{state.get('run_id')}-retention"]
    if len(this_run):
        purged = int(this_run["rows_affected"].sum())
        return f"This run's retention step: {len(this_run)} table(s), {purged:,} row(s) or file(s) purged.", (
            this_run[columns]
        )
    if audit.empty:
        return "No retention run yet (`lawn retention apply`).", audit[columns]
    latest = audit[audit["run_id"] == audit["run_id"].iloc[-1]]
    kind = "dry run" if bool(latest["is_dry_run"].iloc[0]) else "run"
    return (
        f"This run applied no retention; the latest retention {kind} was {latest['run_id'].iloc[0]} "
        f"at {latest['applied_at'].iloc[0]:%Y-%m-%d %H:%M} UTC.",
        latest[columns],
    )


def instrumentation_section(flags: pd.DataFrame, limit: int = 25) -> tuple[str, list[str]]:
    """The instrumentation QA flags of the last days of data, as HTML and Markdown lines;
    a sentence instead of a table when there is none."""
    if flags.empty:
        sentence = f"No instrumentation flags in the last {INSTRUMENTATION_DAYS} days of data."
        return f"<p>{html.escape(sentence)}</p>", [sentence]
    shown = flags.head(limit)
    note = f"{len(flags)} flags in the last {INSTRUMENTATION_DAYS} days of data" + (
        f" (first {limit} shown)." if len(flags) > limit else "."
    )
    return f"<p>{html.escape(note)}</p>{_table(shown)}", [note, "", _markdown_table(shown)]


def plots(data: ReportData) -> dict[str, bytes]:
    return {
        "funnel": report_plots.funnel(data["funnel"]),
        "retention": report_plots.retention_heatmap(data["retention"]),
        "mrr_waterfall": report_plots.mrr_waterfall(data["mrr_month"], data["movements"]),
        "readouts": report_plots.readouts(data["readouts"], data["automation_lift"]),
        "data_quality": report_plots.quality_trend(data["quality"]),
        "slo_status": report_plots.slo_status(data["slo_history"]),
        "model_monitoring": report_plots.model_monitoring(data["monitoring"]),
        "actions": report_plots.actions(data["actions"]),
    }


def write_report(
    db_path: Path, report_dir: Path, state: dict, uplift_store: Path | None = None
) -> tuple[Path, Path]:
    """Write report.html, report.md and the plot PNGs into ``report_dir``; return the paths.
    ``uplift_store``: the uplift model store whose live models the uplift section shows."""
    from lawn.report_adaptive import sections as adaptive_sections

    data = load_report_data(db_path)
    report_dir.mkdir(parents=True, exist_ok=True)
    images = plots(data)
    adaptive = adaptive_sections(db_path, uplift_store)
    for name, png in {**images, **adaptive.plots}.items():
        (report_dir / f"{name}.png").write_bytes(png)
    health = health_lines(data, state)
    wins, risks = weekly_readout(data)
    steps = pd.DataFrame([(s.name, s.status, f"{s.seconds:.1f} s", s.detail) for s in state.get("steps", [])],
                         columns=["step", "status", "time", "detail"])  # fmt: skip
    lift = data["automation_lift"][list(LIFT_COLUMNS)]
    qa_html, qa_markdown = instrumentation_section(data["instrumentation"])
    retention_note, retention = retention_rows(data["retention_audit"], state)
    generated = f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC"
    run_id = html.escape(str(state.get("run_id")))
    title = f"lawn nightly report: data through {data.as_of_date}"
    figures = "".join(
        f'<figure><img class="plot" alt="{name}" src="data:image/png;base64,'
        f'{base64.b64encode(png).decode()}"><figcaption>{name.replace("_", " ")}</figcaption></figure>'
        for name, png in images.items()
    )
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>{STYLE}</style></head><body>
<h1>{html.escape(title)}</h1><p class="sub">run {run_id}, generated {generated};
<span id="render-check">plots not checked yet</span></p>
<h2>Daily health</h2>{_table(pd.DataFrame(health, columns=["", "value"]))}
<h2>Weekly readout</h2><h3>Top wins</h3><ul>{_items(wins, "ok")}</ul>
<h3>Top risks</h3><ul>{_items(risks, "bad")}</ul>
<h2>Run steps</h2>{_table(steps)}
<h2>Retention</h2><p>{html.escape(retention_note)}</p>{_table(retention) if len(retention) else ""}
<h2>SLO status</h2>{_table(data["slo_latest"])}
<h2>Automation lift (vs holdout)</h2>{_table(lift)}
<h2>Instrumentation QA</h2>{qa_html}
{"".join(adaptive.html)}
<h2>Plots</h2>{figures}
{RENDER_CHECK}</body></html>
"""
    html_path, markdown_path = report_dir / "report.html", report_dir / "report.md"
    html_path.write_text(page)
    markdown = [
        f"# {title}",
        "",
        f"Run {state.get('run_id')}, generated {generated}.",
        "",
        "## Daily health",
        "",
        *[f"- {label}: {value}" for label, value in health],
        "",
        "## Weekly readout",
        "",
        "Top wins:",
        *[f"- {win}" for win in wins],
        "",
        "Top risks:",
        *[f"- {risk}" for risk in risks],
        "",
        "## Run steps",
        "",
        _markdown_table(steps),
        "",
        "## Retention",
        "",
        retention_note,
        "",
        *([_markdown_table(retention), ""] if len(retention) else []),
        "## SLO status",
        "",
        _markdown_table(data["slo_latest"]),
        "",
        "## Automation lift (vs holdout)",
        "",
        _markdown_table(lift),
        "",
        "## Instrumentation QA",
        "",
        *qa_markdown,
        "",
        *adaptive.markdown,
        "## Plots",
        "",
        *[f"![{name}]({name}.png)" for name in images],
        "",
    ]
    markdown_path.write_text("\n".join(markdown))
    return html_path, markdown_path
