"""The quarterly report: SLO review (breaches, time to recover, thresholds to revisit),
governance (catalog completeness) and the compliance review (lawn/reports/compliance.py:
PII columns and where they live, masked share, retention classes, violations found and fixed,
erasure requests, grants or the catalog gate's enforcement).

A breach episode is a run of consecutive evaluated days in breach; it recovers on the first
later day that passes; time to recover = recovery day - first breach day (days). Days with too
little data neither end nor extend an episode. Thresholds to revisit (docs/cadence_reports.md):
- chronic: in breach on more than CHRONIC_SHARE of the evaluated days (the target or the
  product needs a decision);
- never close: no breach and the metric never came within LOOSE_MARGIN (relative) of the
  threshold over at least MIN_DAYS evaluated days (the SLO cannot alert at its current level)."""

from __future__ import annotations

import pandas as pd

from lawn.reports import compliance, governance, plots
from lawn.reports.page import Section
from lawn.reports.reader import Reader

CHRONIC_SHARE = 0.25
LOOSE_MARGIN = 0.5
MIN_DAYS = 28


def history(r: Reader) -> pd.DataFrame:
    return r.df(
        """
        select slo_id, evaluated_date, severity, comparator, threshold, metric_value, status
        from {slo_status} as slo_status where evaluated_date <= $as_of and evaluated_date >= $start
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
    return [slo, *governance_sections(r)]


def governance_sections(r: Reader) -> list[Section]:
    """Catalog completeness and the compliance review (lawn/reports/compliance.py)."""
    gov = Section("Governance: catalog completeness")
    try:
        dictionary = compliance.read_dictionary(r.folder)
    except compliance.Unavailable as exc:
        # every section that reads the dictionary says so: none is left out without a word
        missing = [
            Section(title).text(f"Not available: {exc}.")
            for title in ("Compliance: PII columns and where they live", "Compliance: masked share")
        ]
        grants_part = (
            postgres_grants_section(r)
            if r.engine == "postgres"
            else Section("Compliance: grants").text(f"Not available: {exc}.")
        )
        return [
            gov.text(f"Not available: {exc}."),
            *missing,
            *retention_sections(r, None),
            erasure_section(r),
            grants_part,
        ]
    table = governance.shares(governance.completeness(dictionary))
    gov.text(
        "Share of columns (sources, seeds, models, snapshots; the data dictionary of `lawn catalog`, "
        "archived with this report as data_dictionary.csv) with a description and with each meta key "
        f"({', '.join(governance.META_KEYS)}) as the catalog gate resolves it (own or inherited), per "
        "layer; own_meta: all four keys set on the column itself."
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
    pii = Section("Compliance: PII columns and where they live")
    pii.text(
        "Columns of data class direct_pii or indirect_pii (as resolved by the catalog), per resource "
        "type and schema."
    )
    pii.table(compliance.pii_locations(dictionary), empty="No PII column in the catalog.")
    masked = Section("Compliance: masked share")
    masked.text(
        "Of the PII columns analysts could meet: those in the restricted schema "
        f"({', '.join(compliance.RESTRICTED_SCHEMAS)}) and the keyed-hash stand-ins in analyst schemas "
        f"({', '.join(compliance.ANALYST_SCHEMAS)}; pseudonymous columns named <pii column>_key or _hash) "
        "are masked; PII columns in analyst schemas are in clear. masked_share = (restricted + hashed) / "
        "(restricted + hashed + clear). Internal schemas (raw, staging, intermediate, ...) are not "
        "counted: no analyst reads them."
    )
    masked.table(compliance.masked_share(dictionary))
    hashed = compliance.hashed_stand_ins(dictionary)
    masked.subtitle("Keyed-hash stand-ins in analyst schemas").table(hashed, empty="none")
    clear = dictionary[
        dictionary["data_class"].isin(compliance.PII_CLASSES)
        & dictionary["schema"].isin(compliance.ANALYST_SCHEMAS)
    ]
    masked.subtitle("PII columns in clear in analyst schemas").bullets(
        [f"{row.model}.{row.column} ({row.data_class})" for row in clear.itertuples()], "", "none"
    )
    return [
        gov,
        pii,
        masked,
        *retention_sections(r, dictionary),
        erasure_section(r),
        postgres_grants_section(r) if r.engine == "postgres" else grants_section(dictionary),
    ]


def retention_sections(r: Reader, dictionary: pd.DataFrame | None) -> list[Section]:
    from lawn.retention import RetentionError

    section = Section("Compliance: retention")
    try:
        check, source = compliance.retention_check(r)
    except RetentionError as exc:
        return [section.text(f"Not available: {exc}")]
    if dictionary is not None:
        classes, no_policy = compliance.class_policies(
            dictionary, check["class_map"], check["policies"], check["catalog_classes"]
        )
        section.subtitle("Retention classes and their policies").text(
            "The catalog's retention classes (column meta) and the policy classes that enforce them "
            "(seeds/governance/retention_class_map.csv, the one map between the two vocabularies)."
        )
        section.table(classes)
        section.subtitle("Retention classes with no policy").bullets(
            [f"{line}: kept with no time limit" for line in no_policy], "bad", "none"
        )
    mismatches = compliance.class_mismatches(check)
    if mismatches:
        section.subtitle("Tables whose catalog class differs from their policy's").bullets(mismatches, "bad")
    first, last = compliance.operational_window(r)
    table = compliance.violations(check, compliance.retention_fixed(r))
    section.subtitle("Violations found and fixed").text(
        f"rows_past_policy: rows older than their policy's cutoff at the end of {r.as_of} (reference "
        f"{check['reference']}; {source}); a violation when not 0. rows_fixed: rows (files for "
        f"files:exports) the applied retention runs dated {first} to {last} deleted or anonymised "
        "(marts.fct_retention_audit; a run is dated by the time it measured ages from)."
    )
    section.table(table, empty="No table is mapped to a retention policy.")
    found = table[table["rows_past_policy"] > 0]
    applied, dry = compliance.retention_runs(r)
    past = int(found["rows_past_policy"].sum())
    section.bullets(
        [
            f"violations found: {len(found)} table(s), {past} rows past their policy",
            f"fixed in the quarter: {int(table['rows_fixed'].sum())} rows by {applied} applied run(s) "
            f"({dry} dry run(s))",
        ],
        "bad" if len(found) else "ok",
    )
    return [section]


def erasure_section(r: Reader) -> Section:
    first, last = compliance.operational_window(r)
    section = Section("Compliance: erasure requests")
    try:
        frame = compliance.erasures(r)
    except compliance.Unavailable as exc:
        return section.text(f"Not available: {exc}.")
    section.text(
        f"Erasure requests completed {first} to {last} (marts.fct_erasure_requests); time to completion "
        "= completed_at - requested_at, the erasure itself without the rebuild that follows it."
    )
    section.bullets(compliance.erasure_summary(frame))
    section.table(frame, empty="none")
    return section


def postgres_grants_section(r: Reader) -> Section:
    """On PostgreSQL: the quarter's grants diff and the grants in force at its end, from
    audit.grant_log (lawn/reports/grants.py, the rule `lawn postgres grants-diff` applies)."""
    from lawn.reports import grants

    section = Section("Compliance: grants")
    if not r.has_table("audit", "grant_log"):
        return section.text("Not available: audit.grant_log does not exist (run `lawn postgres build`).")
    since, until = grants.quarter_bounds(r.start, r.as_of)
    log = r.df(f"select {', '.join(grants.LOG_COLUMNS)} from audit.grant_log")
    section.text(
        "This warehouse is PostgreSQL: dbt applies the roles' grants and logs them in audit.grant_log. "
        f"Grants granted or revoked between {since} and {until} (UTC), from the log; `lawn postgres "
        "grants-diff` gives the same diff and also compares the server's grants now with the log (a "
        "grant made or dropped by hand shows there, not here: this report reads a copy of the log)."
    )
    section.table(grants.diff(log, since, until), empty="No grant was granted or revoked in the quarter.")
    force = grants.in_force(log, until)
    summary = (
        force.groupby(["grantee", "object_type", "privilege"]).size().reset_index(name="grants")
        if len(force)
        else pd.DataFrame(columns=["grantee", "object_type", "privilege", "grants"])
    )
    section.subtitle(f"Grants in force at {until} (count per role, object type and privilege)")
    section.table(summary, empty="No grant was logged before then.")
    return section


def grants_section(dictionary: pd.DataFrame) -> Section:
    from lawn.settings import var

    section = Section("Compliance: grants")
    section.text(
        "This warehouse is DuckDB: database roles do not exist there, so there are no grants to diff "
        "(on PostgreSQL, `lawn postgres grants-diff` compares the grants in force from audit.grant_log). "
        "Here the rule is enforced by the catalog gate, which fails the build when a column lacks its "
        "meta or direct PII reaches a schema not allowed to hold it (var governance_direct_pii_schemas), "
        "and by which schema holds what:"
    )
    allowed = list(var("governance_direct_pii_schemas"))
    table, findings = compliance.gate_enforcement(dictionary, allowed)
    section.table(table)
    section.subtitle("Catalog gate findings on the archived dictionary").bullets(findings, "bad", "none")
    return section
