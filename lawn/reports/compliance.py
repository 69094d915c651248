"""The quarterly compliance review (issue 13 item 5; docs/compliance.md): PII columns and
where they live, the masked share, retention classes and their policies, retention violations
found and fixed, erasure requests served, and grants (PostgreSQL) or the catalog gate's
enforcement (DuckDB, which has no roles).

What is not in the warehouse is archived in the report's dated folder at the first render of
a day, and read back by every later render of that day:
- ``data_dictionary.csv``: the data dictionary (`lawn catalog`: meta as the catalog gate
  resolves it), copied from ``--catalog`` or made by running the catalog;
- ``retention_check.json``: the rows past their policy at the end of the as-of day (the
  dry run's count, lawn.retention.past_policy), and the policies and class map of that day.
Everything else is read from the public marts fct_retention_audit and fct_erasure_requests.

Operational records (retention runs, erasures) are dated by the day after the data day they
serve: the nightly of data day D runs on D + 1. A quarter [start, as-of] therefore holds the
records of days start + 1 .. as-of + 1; a retention run is dated by its reference time (the
time ages were measured from: cutoff_at + keep_days), an erasure by its completion."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import tempfile
from pathlib import Path

import pandas as pd

from lawn.reports.reader import Reader

DICTIONARY = "data_dictionary.csv"
RETENTION_SNAPSHOT = "retention_check.json"
UNAVAILABLE = "catalog_unavailable.txt"  # why the first render had no dictionary
PII_CLASSES = ("direct_pii", "indirect_pii")
# the restricted place of direct PII, and the schemas analysts read (docs/governance.md)
RESTRICTED_SCHEMAS = ("pii",)
ANALYST_SCHEMAS = ("marts",)
HASHED_NAME = re.compile(r"^(?P<base>.+)_(?:key|hash)$")


class Unavailable(ValueError):
    """Something the review needs is missing (a data dictionary, a mart); one line."""


# ------------------------------------------------------------------ the day's data dictionary


def _missing_dictionary_columns(columns) -> list[str]:
    """The columns of `lawn catalog`'s data_dictionary.csv the review reads that ``columns`` lacks."""
    needed = {"resource_type", "model", "schema", "column", "data_class", "retention_class", "meta_from"}
    return sorted(needed - set(columns))


def archive_catalog(folder: Path, db_path: Path, catalog_csv: Path | None) -> None:
    """Before the report opens the warehouse: the dated folder gets the day's data dictionary
    unless it has one: ``catalog_csv`` when given, else `lawn catalog` run now (dbt docs
    generate + the gate's resolved meta). A failure is archived too (its one-line reason), so
    that later renders of the day say the same."""
    target = folder / DICTIONARY
    if target.exists():
        return  # the day's catalog is archived: a re-render reproduces it
    if catalog_csv is not None:
        # given explicitly: also replaces an archived failure (page.write keeps the old report)
        if not catalog_csv.is_file():
            raise Unavailable(f"--catalog {catalog_csv}: no such file")
        try:  # another CSV was archived as the day's dictionary, and the report said so inside
            header = pd.read_csv(catalog_csv, dtype=str, nrows=0).columns
        except (ValueError, UnicodeDecodeError) as exc:
            raise Unavailable(f"--catalog {catalog_csv}: not a CSV ({str(exc).splitlines()[0]})") from None
        if missing := _missing_dictionary_columns(header):
            raise Unavailable(
                f"--catalog {catalog_csv}: not a data dictionary of `lawn catalog` "
                f"(missing column(s) {', '.join(missing)})"
            )
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(catalog_csv, target)
        (folder / UNAVAILABLE).unlink(missing_ok=True)
        return
    if (folder / UNAVAILABLE).exists():
        return  # the first render had no catalog: later renders say the same
    folder.mkdir(parents=True, exist_ok=True)
    from lawn.catalog import CatalogError, make_catalog

    with tempfile.TemporaryDirectory(prefix="lawn-report-catalog-") as work:
        try:
            result = make_catalog(db_path, Path(work))
        except (CatalogError, OSError) as exc:
            (folder / UNAVAILABLE).write_text(str(exc).splitlines()[0][:300] + "\n")
            return
        shutil.copyfile(result.csv_path, target)


def note_unavailable(folder: Path, reason: str) -> None:
    """No dictionary can be made for this render (``reason``, one line): archived as an
    unavailable catalog unless the day's folder already has a dictionary or a reason."""
    if (folder / DICTIONARY).exists() or (folder / UNAVAILABLE).exists():
        return
    folder.mkdir(parents=True, exist_ok=True)
    (folder / UNAVAILABLE).write_text(reason + "\n")


def read_dictionary(folder: Path) -> pd.DataFrame:
    path = folder / DICTIONARY
    if not path.exists():
        why = folder / UNAVAILABLE
        reason = why.read_text().strip() if why.exists() else "no data dictionary"
        raise Unavailable(f"the catalog could not be made ({reason})")
    dictionary = pd.read_csv(path, dtype=str, keep_default_na=False)
    if missing := _missing_dictionary_columns(dictionary.columns):
        raise Unavailable(f"{path}: missing column(s) {', '.join(missing)}")
    return dictionary


# ------------------------------------------------------------------ PII and masking


def pii_locations(dictionary: pd.DataFrame) -> pd.DataFrame:
    """data_class, resource_type, schema, relations, columns: where the direct and indirect
    PII columns live."""
    pii = dictionary[dictionary["data_class"].isin(PII_CLASSES)]
    if pii.empty:
        return pd.DataFrame(columns=["data_class", "resource_type", "schema", "relations", "columns"])
    return (
        pii.groupby(["data_class", "resource_type", "schema"])
        .agg(relations=("model", "nunique"), columns=("column", "size"))
        .reset_index()
        .sort_values(["data_class", "resource_type", "schema"])
        .reset_index(drop=True)
    )


def hashed_stand_ins(dictionary: pd.DataFrame) -> pd.DataFrame:
    """Analyst-schema columns that stand in for a PII column by its keyed hash: data class
    pseudonymous and named ``<name>_key`` or ``<name>_hash`` where ``<name>`` is a direct or
    indirect PII column of the catalog (the catalog's lineage is by name too). Each gets the
    most restrictive class of its base name."""
    pii_names = dictionary[dictionary["data_class"].isin(PII_CLASSES)]
    rank = {name: i for i, name in enumerate(reversed(PII_CLASSES))}
    class_of = (
        pii_names.assign(rank=pii_names["data_class"].map(rank))
        .sort_values("rank")
        .groupby("column")["data_class"]
        .last()
        .to_dict()
    )
    candidates = dictionary[
        dictionary["schema"].isin(ANALYST_SCHEMAS) & (dictionary["data_class"] == "pseudonymous")
    ]
    rows = []
    for row in candidates.itertuples():
        match = HASHED_NAME.match(row.column)
        if match and match.group("base") in class_of:
            rows.append({"model": row.model, "column": row.column, "hashes": match.group("base"),
                         "data_class": class_of[match.group("base")]})  # fmt: skip
    return pd.DataFrame(rows, columns=["model", "column", "hashes", "data_class"])


def masked_share(dictionary: pd.DataFrame) -> pd.DataFrame:
    """Per PII class: columns in the restricted schema, keyed-hash stand-ins in analyst marts,
    PII columns in analyst marts in clear, and masked_share = (restricted + hashed) /
    (restricted + hashed + clear). Columns in internal schemas (raw, staging, intermediate,
    ...) are read by no analyst and are not counted."""
    hashed = hashed_stand_ins(dictionary)
    rows = []
    for data_class in PII_CLASSES:
        of_class = dictionary[dictionary["data_class"] == data_class]
        restricted = int(of_class["schema"].isin(RESTRICTED_SCHEMAS).sum())
        clear = int(of_class["schema"].isin(ANALYST_SCHEMAS).sum())
        stand_ins = int((hashed["data_class"] == data_class).sum())
        rows.append([data_class, restricted, stand_ins, clear])
    frame = pd.DataFrame(
        rows, columns=["data_class", "restricted_in_pii", "hashed_in_marts", "clear_in_marts"]
    )
    frame.loc[len(frame)] = ["all", *frame[["restricted_in_pii", "hashed_in_marts", "clear_in_marts"]].sum()]
    masked = frame["restricted_in_pii"] + frame["hashed_in_marts"]
    published = masked + frame["clear_in_marts"]
    frame["masked_share"] = masked / published.where(published > 0)
    return frame


def gate_enforcement(dictionary: pd.DataFrame, allowed_schemas: list[str]) -> tuple[pd.DataFrame, list[str]]:
    """DuckDB has no roles: the catalog gate is the enforcement. Per schema, the direct PII
    columns and whether the gate allows them there; and the dictionary's findings against the
    gate's rules (a governed column without one of its four keys, direct PII outside the
    allowed schemas), each naming the column."""
    direct = dictionary[dictionary["data_class"] == "direct_pii"]
    schemas = sorted(set(dictionary["schema"]))
    table = pd.DataFrame(
        {
            "schema": schemas,
            "columns": [int((dictionary["schema"] == s).sum()) for s in schemas],
            "direct_pii_columns": [int((direct["schema"] == s).sum()) for s in schemas],
            "direct_pii_allowed": [s in allowed_schemas for s in schemas],
        }
    )
    findings = []
    for key in ("owner", "purpose", "data_class", "retention_class"):
        if key not in dictionary.columns:
            findings.append(f"the dictionary has no {key} column")
            continue
        for row in dictionary[dictionary[key].str.strip() == ""].itertuples():
            findings.append(f"{row.model}.{row.column}: missing meta {key}")
    for row in direct[~direct["schema"].isin(allowed_schemas)].itertuples():
        findings.append(f"{row.model}.{row.column}: direct_pii in schema '{row.schema}'")
    return table, findings


# ------------------------------------------------------------------ retention


def class_policies(
    dictionary: pd.DataFrame, class_map: dict[str, str], policies: dict[str, dict], catalog_classes: list[str]
) -> tuple[pd.DataFrame, list[str]]:
    """Per catalog retention class: its columns and the policy classes that enforce it (one
    map, seeds/governance/retention_class_map.csv); and the classes with no policy (columns
    kept with no time limit), including classes the columns name that the catalog does not
    declare."""
    used = dictionary["retention_class"].value_counts()
    names = list(catalog_classes) + sorted(set(used.index) - set(catalog_classes) - {""})
    rows = []
    for name in names:
        enforced_by = sorted(policy for policy, catalog in class_map.items() if catalog == name)
        rows.append(
            {
                "retention_class": name,
                "declared": name in catalog_classes,
                "columns": int(used.get(name, 0)),
                "policies": "; ".join(
                    f"{p}: {policies[p]['keep_days']} days, {policies[p]['action']}" for p in enforced_by
                )
                or "-",
            }
        )
    frame = pd.DataFrame(rows, columns=["retention_class", "declared", "columns", "policies"])
    no_policy = [f"{row.retention_class} ({row.columns} columns)" for row in frame.itertuples()
                 if row.policies == "-"]  # fmt: skip
    return frame, no_policy


def reference_of(as_of: dt.date) -> dt.datetime:
    """The time the report's retention check measures ages from: the end of the as-of day."""
    return dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time())


def retention_check(r: Reader) -> tuple[dict, str]:
    """The day's retention check: the stored one if the dated folder has it, else counted now
    (lawn.retention.past_policy at the end of the as-of day) and stored."""
    path = r.folder / RETENTION_SNAPSHOT
    if path.exists():
        stored = json.loads(path.read_text())
        return stored, stored["source"]
    from lawn.retention import RetentionError, catalog_classes, load_class_map, load_policies, past_policy

    if r.engine != "duckdb":  # the mirror holds the report relations, not the mapped tables
        raise RetentionError(f"the retention check reads a DuckDB warehouse; not ported to {r.engine} yet")
    policies = load_policies()
    reference = reference_of(r.as_of)
    manifest = r.manifest if r.manifest.exists() else None
    found = past_policy(r.con, reference, manifest_path=manifest)
    payload = {
        "source": "the dry run's count when this day's report was first written",
        "reference": reference.isoformat(),
        "rows": [{**row, "cutoff_at": row["cutoff_at"].isoformat()} for row in found],
        "policies": {name: {"keep_days": p.keep_days, "action": p.action} for name, p in policies.items()},
        "class_map": load_class_map(policies),
        "catalog_classes": list(catalog_classes()),
    }
    r.folder.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=1, default=str) + "\n")
    return payload, payload["source"]


def operational_window(r: Reader) -> tuple[dt.date, dt.date]:
    """The days whose operational records belong to the quarter (module docstring)."""
    return r.start + dt.timedelta(days=1), r.as_of + dt.timedelta(days=1)


def retention_fixed(r: Reader) -> pd.DataFrame:
    """Applied (not dry) retention runs of the quarter per table: runs and rows purged; and
    the dry runs of the quarter."""
    first, last = operational_window(r)
    if not r.has_table("marts", "fct_retention_audit"):
        return pd.DataFrame(columns=["relation_name", "applied_runs", "rows_fixed", "dry_runs"])
    return r.df(
        """
        select
            relation_name,
            count(distinct case when not is_dry_run then run_id end) as applied_runs,
            coalesce(sum(case when not is_dry_run then rows_affected end), 0) as rows_fixed,
            count(distinct case when is_dry_run then run_id end) as dry_runs
        from marts.fct_retention_audit
        where cast(cutoff_at + keep_days * interval 1 day as date) between $first and $last
        group by relation_name
        order by relation_name
        """,
        first=first,
        last=last,
    )


def retention_runs(r: Reader) -> tuple[int, int]:
    """(applied, dry) retention runs dated in the quarter."""
    first, last = operational_window(r)
    if not r.has_table("marts", "fct_retention_audit"):
        return 0, 0
    found = r.df(
        """
        select
            count(distinct case when not is_dry_run then run_id end) as applied,
            count(distinct case when is_dry_run then run_id end) as dry
        from marts.fct_retention_audit
        where cast(cutoff_at + keep_days * interval 1 day as date) between $first and $last
        """,
        first=first,
        last=last,
    )
    return int(found["applied"].iloc[0]), int(found["dry"].iloc[0])


def violations(check: dict, fixed: pd.DataFrame) -> pd.DataFrame:
    """Per mapped table: rows past their policy at the end of the as-of day (found) and rows
    the quarter's applied runs deleted or anonymised (fixed)."""
    found = pd.DataFrame(
        check["rows"],
        columns=["relation_name", "retention_class", "policy_action", "keep_days", "cutoff_at",
                 "rows_past_policy", "catalog_class"],
    )  # fmt: skip
    table = found.merge(fixed, on="relation_name", how="outer")
    for column in ("applied_runs", "rows_fixed", "dry_runs", "rows_past_policy"):
        table[column] = table[column].fillna(0).astype(int)
    table["cutoff_at"] = table["cutoff_at"].fillna("").str.replace("T00:00:00", "", regex=False)
    columns = ["relation_name", "retention_class", "policy_action", "keep_days", "cutoff_at",
               "rows_past_policy", "rows_fixed", "applied_runs", "dry_runs"]  # fmt: skip
    table["keep_days"] = table["keep_days"].astype("Int64")
    return table[columns].sort_values("relation_name").reset_index(drop=True)


def class_mismatches(check: dict) -> list[str]:
    """Mapped tables whose time column's catalog class is not the one their policy enforces."""
    out = []
    for row in check["rows"]:
        expected = check["class_map"].get(row["retention_class"])
        if row.get("catalog_class") and row["catalog_class"] != expected:
            out.append(
                f"{row['relation_name']}: policy {row['retention_class']} enforces catalog class {expected}, "
                f"but its time column is {row['catalog_class']}"
            )
    return out


# ------------------------------------------------------------------ erasure


def erasures(r: Reader) -> pd.DataFrame:
    """The erasure requests completed in the quarter, with their time to completion."""
    first, last = operational_window(r)
    if not r.has_table("marts", "fct_erasure_requests"):
        raise Unavailable("marts.fct_erasure_requests does not exist (run `lawn build`)")
    frame = r.df(
        """
        select request_id, requested_by_type, identifiers_erased, rows_erased, files_rewritten,
            requested_at, completed_at, seconds_taken
        from marts.fct_erasure_requests
        where cast(completed_at as date) between $first and $last
        order by completed_at, request_id
        """,
        first=first,
        last=last,
    )
    frame.insert(
        len(frame.columns) - 1,
        "seconds_to_completion",
        (frame["completed_at"] - frame["requested_at"]).dt.total_seconds().astype(float),
    )
    return frame


def erasure_summary(frame: pd.DataFrame) -> list[str]:
    if frame.empty:
        return ["no erasure request was completed in the quarter"]
    seconds = frame["seconds_to_completion"]
    return [
        f"requests served: {len(frame)}",
        f"time to completion (request to commit, without the rebuild): median {seconds.median():.1f} s, "
        f"max {seconds.max():.1f} s",
        f"rows erased: {int(frame['rows_erased'].sum())}; identifiers tombstoned: "
        f"{int(frame['identifiers_erased'].sum())}",
    ]
