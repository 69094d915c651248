"""The quarterly report: SLO review (breaches, time to recover, thresholds to revisit) and
governance (catalog completeness).

A breach episode is a run of consecutive evaluated days in breach; it recovers on the first
later day that passes; time to recover = recovery day - first breach day (days). Days with too
little data neither end nor extend an episode. Thresholds to revisit (docs/cadence_reports.md):
- chronic: in breach on more than CHRONIC_SHARE of the evaluated days (the target or the
  product needs a decision);
- never close: no breach and the metric never came within LOOSE_MARGIN (relative) of the
  threshold over at least MIN_DAYS evaluated days (the SLO cannot alert at its current level)."""

from __future__ import annotations

import pandas as pd

from lawn.reports import governance, plots
from lawn.reports.page import Section
from lawn.reports.reader import Reader

CHRONIC_SHARE = 0.25
LOOSE_MARGIN = 0.5
MIN_DAYS = 28


def history(r: Reader) -> pd.DataFrame:
    return r.df(
        """
        select slo_id, evaluated_date, severity, comparator, threshold, metric_value, status
        from marts.fct_slo_status where evaluated_date <= $as_of and evaluated_date >= $start
        order by slo_id, evaluated_date
        """
    )


def episodes(rows: pd.DataFrame) -> list[dict]:
    """Breach episodes of one SLO's evaluated days (sorted by date)."""
    found, current = [], None
    for row in rows.itertuples():
        if row.status == "breach":
            if current is None:
                current = {"start": row.evaluated_date, "days": 0, "recovered": None}
                found.append(current)
            current["days"] += 1
        elif row.status == "pass" and current is not None:
            current["recovered"] = row.evaluated_date
            current = None
    return found


def review(frame: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for slo_id, slo in frame.groupby("slo_id", sort=True):
        evaluated = slo[slo["status"].isin(["pass", "breach"])]
        found = episodes(slo)
        recovered = [
            (pd.Timestamp(e["recovered"]) - pd.Timestamp(e["start"])).days for e in found if e["recovered"]
        ]
        breach_days = int((slo["status"] == "breach").sum())
        share = breach_days / len(evaluated) if len(evaluated) else float("nan")
        threshold = float(slo["threshold"].iloc[-1])
        values = evaluated["metric_value"].astype(float)
        margin = (values - threshold) if slo["comparator"].iloc[-1].startswith(">") else (threshold - values)
        closest = float(margin.min() / abs(threshold)) if len(values) and threshold else float("nan")
        revisit = (
            "chronic breach"
            if share > CHRONIC_SHARE
            else "never close to its threshold"
            if breach_days == 0 and closest > LOOSE_MARGIN and len(evaluated) >= MIN_DAYS
            else ""
        )
        rows.append(
            {
                "slo_id": slo_id,
                "severity": slo["severity"].iloc[-1],
                "threshold": threshold,
                "evaluated_days": len(evaluated),
                "breach_days": breach_days,
                "breach_share": share,
                "episodes": len(found),
                "recovered": len(recovered),
                "ongoing": sum(1 for e in found if e["recovered"] is None),
                "mean_days_to_recover": sum(recovered) / len(recovered) if recovered else float("nan"),
                "max_days_to_recover": max(recovered) if recovered else None,
                "closest_relative_margin": closest,
                "revisit": revisit,
            }
        )
    frame = pd.DataFrame(rows)
    if len(frame):
        frame["max_days_to_recover"] = frame["max_days_to_recover"].astype("Int64")
    return frame


def build(r: Reader) -> list[Section]:
    frame = history(r)
    table = review(frame)
    slo = Section("SLO review").text(
        f"Breach episodes per SLO this quarter; thresholds to revisit: breach on more than "
        f"{CHRONIC_SHARE:.0%} of "
        f"evaluated days, or no breach and never within {LOOSE_MARGIN:.0%} of the threshold over at least "
        f"{MIN_DAYS} evaluated days."
    )
    to_revisit = (
        [f"{row.slo_id}: {row.revisit}" for row in table.itertuples() if row.revisit] if len(table) else []
    )
    slo.table(table, empty="No SLO evaluated this quarter.")
    slo.subtitle("Thresholds to revisit").bullets(to_revisit, "bad", "none")
    slo.plot(
        "slo_status",
        plots.status_strip(frame, "SLO status by day (green pass, red breach, grey too little data)"),
        "SLO status",
    )
    gov = Section("Governance: catalog completeness")
    try:
        counts, source = governance.snapshot(r.folder, r.manifest)
    except governance.ManifestError as exc:
        return [slo, gov.text(f"Not available: {exc}")]
    table = governance.shares(counts)
    gov.text(
        f"Share of model columns (dbt manifest, {source}) with a description and with each meta key "
        f"({', '.join(governance.META_KEYS)}), per layer."
    )
    gov.table(table)
    share_columns = [c for c in table.columns if c.startswith("share_with_")]
    total = table[table["layer"] == "all"]
    gov.plot(
        "catalog_completeness",
        plots.signed_bars(
            [c.replace("share_with_", "") for c in share_columns],
            [float(total[c].iloc[0]) if len(total) else 0.0 for c in share_columns],
            [False] * len(share_columns),
            None,
            "Catalog completeness (all layers)",
            "share of columns",
        ),
        "catalog completeness",
    )
    return [slo, gov]
