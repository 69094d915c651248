"""The quarterly compliance review (lawn/reports/compliance.py, lawn/reports/grants.py; issue 13
item 5): every figure against an independent pandas computation or a planted truth, on the
hand-written warehouse and data dictionary of tests_py/cadence_fixture.py and on hand-written
grant-log rows. Reproduction after later data is tested in test_cadence_reports.py."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from typer.testing import CliRunner

from lawn.cli import app
from lawn.paths import SEEDS_DIR
from lawn.reports import asof, compliance, grants
from lawn.reports.run import write_cadence_report
from lawn.retention import RetentionError, load_class_map, load_policies
from tests_py import cadence_fixture as fx
from tests_py.test_cadence_reports import md_table

POLICIES = pd.read_csv(SEEDS_DIR / "governance" / "retention_policies.csv")
TABLES = pd.read_csv(SEEDS_DIR / "governance" / "retention_tables.csv")


@pytest.fixture(scope="module")
def quarterly(tmp_path_factory):
    root = tmp_path_factory.mktemp("compliance")
    db = fx.write_warehouse(root / "w.duckdb")
    catalog = fx.write_dictionary(root / "data_dictionary.csv")
    _, md_path, _ = write_cadence_report(
        db, "quarterly", None, root / "out", fx.write_model_store(root / "store"), root / "none.json", catalog
    )
    return {"md": md_path.read_text(), "root": root, "db": db}


# ------------------------------------------------------------------ the dictionary's figures


def test_masked_share_equals_pandas_and_the_planted_truth():
    d = fx.dictionary()
    found = compliance.masked_share(d).set_index("data_class")
    # independent: boolean masks over the dictionary
    pii = d["data_class"].isin(["direct_pii", "indirect_pii"])
    stand_in = (
        (d["schema"] == "marts")
        & (d["data_class"] == "pseudonymous")
        & d["column"].str.replace(r"_(key|hash)$", "", regex=True).isin(set(d.loc[pii, "column"]))
        & d["column"].str.contains(r"_(?:key|hash)$")
    )
    for data_class in ("direct_pii", "indirect_pii"):
        of = d["data_class"] == data_class
        restricted = int((of & (d["schema"] == "pii")).sum())
        clear = int((of & (d["schema"] == "marts")).sum())
        bases = set(d.loc[of, "column"])
        hashed = int((stand_in & d["column"].str.replace(r"_(key|hash)$", "", regex=True).isin(bases)).sum())
        row = found.loc[data_class]
        assert (row["restricted_in_pii"], row["hashed_in_marts"], row["clear_in_marts"]) == (
            restricted,
            hashed,
            clear,
        )
        assert row["masked_share"] == pytest.approx((restricted + hashed) / (restricted + hashed + clear))
    # planted: direct 2 in pii + email_key / ip_address in clear; indirect 1 in pii, 2 in clear
    assert found.loc["direct_pii", "masked_share"] == pytest.approx(3 / 4)
    assert found.loc["indirect_pii", "masked_share"] == pytest.approx(1 / 3)
    assert found.loc["all", "masked_share"] == pytest.approx(4 / 7)
    assert compliance.hashed_stand_ins(d)[["model", "column", "hashes"]].values.tolist() == [
        ["dim_users", "email_key", "email"]
    ]


def test_pii_locations_equal_a_groupby():
    d = fx.dictionary()
    found = compliance.pii_locations(d)
    pii = d[d["data_class"].isin(["direct_pii", "indirect_pii"])]
    expected = pii.groupby(["data_class", "resource_type", "schema"]).size().rename("columns").reset_index()
    merged = found.merge(expected, on=["data_class", "resource_type", "schema"], suffixes=("", "_pandas"))
    assert len(merged) == len(found) == len(expected)
    assert (merged["columns"] == merged["columns_pandas"]).all()
    assert int(found["columns"].sum()) == 8


def test_gate_enforcement_names_each_offending_column():
    table, findings = compliance.gate_enforcement(fx.dictionary(), ["raw", "staging", "pii"])
    marts = table.set_index("schema").loc["marts"]
    assert (marts["columns"], marts["direct_pii_columns"], marts["direct_pii_allowed"]) == (7, 1, False)
    assert sorted(findings) == [
        "fct_bad.ip_address: direct_pii in schema 'marts'",
        "s.note: missing meta retention_class",
    ]


def test_classes_without_policy_are_named():
    policies = {name: {"keep_days": p.keep_days, "action": p.action} for name, p in load_policies().items()}
    class_map = load_class_map(load_policies())
    declared = ["raw_events", "identity", "business_record", "operational_log", "model_artifact", "reference"]
    table, no_policy = compliance.class_policies(fx.dictionary(), class_map, policies, declared)
    # independent: the class map CSV read with pandas
    mapped = set(pd.read_csv(SEEDS_DIR / "governance" / "retention_class_map.csv")["catalog_retention_class"])
    used = fx.dictionary()["retention_class"].value_counts()
    expected = [f"{c} ({int(used.get(c, 0))} columns)" for c in declared if c not in mapped]
    assert no_policy == [*expected, "mystery_class (1 columns)"]
    assert "business_record (1 columns)" in no_policy
    row = table.set_index("retention_class").loc["identity"]
    assert row["policies"] == "identity_history: 365 days, delete" and row["columns"] == used["identity"] == 7
    assert not table.set_index("retention_class").loc["mystery_class", "declared"]


def test_class_map_errors_name_file_and_line(tmp_path):
    policies = load_policies()
    bad = tmp_path / "map.csv"
    bad.write_text("policy_class,catalog_retention_class\nraw_landing,raw_events\nmodel_scores,nope\n")
    with pytest.raises(
        RetentionError, match=r"map.csv: line 3: catalog_retention_class 'nope' is not one of"
    ):
        load_class_map(policies, bad)
    bad.write_text("policy_class,catalog_retention_class\nraw_landing,raw_events\n")
    with pytest.raises(RetentionError, match="no catalog_retention_class for policy class"):
        load_class_map(policies, bad)
    bad.write_text("policy_class,catalog_retention_class\nraw_landing,raw_events\nraw_landing,identity\n")
    with pytest.raises(RetentionError, match="line 3: policy_class 'raw_landing' repeated"):
        load_class_map(policies, bad)


def test_the_shipped_class_map_covers_every_policy():
    policies = load_policies()
    assert set(load_class_map(policies)) == set(policies)


# ------------------------------------------------------------------ the warehouse's figures


def _window() -> tuple[pd.Timestamp, pd.Timestamp]:
    start = asof.period_start("quarterly", fx.AS_OF)
    return pd.Timestamp(start + dt.timedelta(days=1)), pd.Timestamp(fx.AS_OF + dt.timedelta(days=1))


def test_violations_found_equal_pandas(quarterly):
    table = md_table(quarterly["md"], "Violations found and fixed").set_index("relation_name")
    reference = pd.Timestamp(fx.AS_OF + dt.timedelta(days=1))
    policy = POLICIES.set_index("retention_class")
    mapped = TABLES.set_index("relation")
    for relation, frame in fx.retained_tables().items():
        cls = mapped.loc[relation, "retention_class"]
        column = mapped.loc[relation, "time_column"]
        cutoff = reference - pd.Timedelta(days=int(policy.loc[cls, "keep_days"]))
        older = pd.to_datetime(frame[column]) < cutoff
        if policy.loc[cls, "action"] == "anonymise":
            columns = mapped.loc[relation, "anonymise_columns"].split("|")
            older &= frame[columns].notna().any(axis=1)
        assert table.loc[relation, "rows_past_policy"] == str(int(older.sum())), relation
    # planted: 2 churn scores past 365 days, 2 quarantined rows still holding ids, no export
    assert table.loc[["ml.churn_scores", "marts.fct_quarantined_events", "ops.action_exports"],
                     "rows_past_policy"].tolist() == ["2", "2", "0"]  # fmt: skip
    # tables that do not exist in the warehouse are not listed (the files are: no ledger, 0)
    assert "raw.raw_events" not in table.index and table.loc["files:exports", "rows_past_policy"] == "0"
    assert "- violations found: 2 table(s), 4 rows past their policy" in quarterly["md"]


def test_violations_fixed_equal_pandas(quarterly):
    table = md_table(quarterly["md"], "Violations found and fixed").set_index("relation_name")
    audit = fx.retention_audit()
    first, last = _window()
    reference_day = (audit["cutoff_at"] + pd.to_timedelta(audit["keep_days"], unit="D")).dt.normalize()
    in_window = audit[reference_day.between(first, last)]
    applied = in_window[~in_window["is_dry_run"]]
    for relation, rows in applied.groupby("relation_name")["rows_affected"].sum().items():
        assert table.loc[relation, "rows_fixed"] == str(rows), relation
    # planted: runs A (04-01) and F (06-16) count; C (03-16) and D (06-17) are outside; B is dry
    assert table.loc["ml.churn_scores", ["rows_fixed", "applied_runs", "dry_runs"]].tolist() == [
        "5",
        "1",
        "1",
    ]
    assert table.loc["marts.fct_quarantined_events", "rows_fixed"] == "7"
    assert table.loc["ops.action_exports", "rows_fixed"] == "2"
    assert (
        f"- fixed in the quarter: 14 rows by {applied['run_id'].nunique()} applied run(s) (1 dry run(s))"
        in (quarterly["md"])
    )


def test_erasure_time_to_completion_equals_pandas(quarterly):
    table = md_table(quarterly["md"], "Compliance: erasure requests")
    requests = fx.erasure_requests()
    first, last = _window()
    served = requests[requests["completed_at"].dt.normalize().between(first, last)]
    seconds = (served["completed_at"] - served["requested_at"]).dt.total_seconds()
    assert table["request_id"].tolist() == served["request_id"].tolist() == ["e1", "e2"]
    assert table["seconds_to_completion"].tolist() == [f"{s:.3f}" for s in seconds] == ["5.000", "30.000"]
    assert f"- requests served: {len(served)}" in quarterly["md"]
    assert (
        f"- time to completion (request to commit, without the rebuild): median {seconds.median():.1f} s, "
        f"max {seconds.max():.1f} s" in quarterly["md"]
    )
    assert f"rows erased: {served['rows_erased'].sum()}" in quarterly["md"]
    assert "person_hash" not in table.columns


def test_duckdb_has_no_grants_and_shows_the_gate(quarterly):
    md = quarterly["md"]
    assert "database roles do not exist there" in md
    gate = md_table(md, "Compliance: grants").set_index("schema")
    assert gate.loc["marts", ["direct_pii_columns", "direct_pii_allowed"]].tolist() == ["1", "no"]
    assert "- fct_bad.ip_address: direct_pii in schema 'marts'" in md
    masked = md_table(md, "Compliance: masked share").set_index("data_class")
    assert masked.loc["all", "masked_share"] == f"{4 / 7:.3f}"
    assert "- mystery_class (1 columns): kept with no time limit" in md


def test_a_missing_catalog_file_is_one_line_exit_2(quarterly, tmp_path):
    result = CliRunner().invoke(
        app,
        ["report", "--cadence", "quarterly", "--db", str(quarterly["db"]), "--out", str(tmp_path),
         "--catalog", str(tmp_path / "nope.csv")],
        env={"COLUMNS": "300"},
    )  # fmt: skip
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [f"error: --catalog {tmp_path / 'nope.csv'}: no such file"]


# ------------------------------------------------------------------ grants (PostgreSQL's grant log)


def _log() -> pd.DataFrame:
    """Three runs: r1 builds a and b; r2 (partial) rebuilds a only, granting vendor instead of
    analyst, and drops vendor's usage on pii... r3 after the quarter."""

    def g(run, at, kind, schema, name="", column="", privilege="", grantee=""):
        return (run, pd.Timestamp(at), kind, schema, name, column, privilege, grantee)

    return pd.DataFrame(
        [
            g("r1", "2026-03-01 01:00", "schema", "marts", privilege="USAGE", grantee="analyst"),
            g("r1", "2026-03-01 01:00", "schema", "pii", privilege="USAGE", grantee="pii_reader"),
            g("r1", "2026-03-01 01:00", "built", "marts", "a"),
            g("r1", "2026-03-01 01:00", "table", "marts", "a", "", "SELECT", "pii_reader"),
            g("r1", "2026-03-01 01:00", "column", "marts", "a", "id", "SELECT", "analyst"),
            g("r1", "2026-03-01 01:00", "built", "marts", "b"),
            g("r1", "2026-03-01 01:00", "table", "marts", "b", "", "SELECT", "pii_reader"),
            g("r2", "2026-05-01 01:00", "schema", "marts", privilege="USAGE", grantee="analyst"),
            g("r2", "2026-05-01 01:00", "schema", "marts", privilege="USAGE", grantee="vendor"),
            g("r2", "2026-05-01 01:00", "built", "marts", "a"),
            g("r2", "2026-05-01 01:00", "table", "marts", "a", "", "SELECT", "pii_reader"),
            g("r2", "2026-05-01 01:00", "table", "marts", "a", "", "SELECT", "vendor"),
            g("r3", "2026-07-01 01:00", "schema", "marts", privilege="USAGE", grantee="analyst"),
            g("r3", "2026-07-01 01:00", "built", "marts", "b"),
        ],
        columns=grants.LOG_COLUMNS,
    )


def test_grants_in_force_follow_the_latest_build_of_each_object():
    held = grants.in_force(_log(), dt.datetime(2026, 6, 1))
    found = set(map(tuple, held[grants.GRANT_KEY].to_numpy()))
    # planted: a from r2 (its latest build), b still from r1 (r2 did not build it), schemas from r2
    assert found == {
        ("table", "marts", "a", "", "SELECT", "pii_reader"),
        ("table", "marts", "a", "", "SELECT", "vendor"),
        ("table", "marts", "b", "", "SELECT", "pii_reader"),
        ("schema", "marts", "", "", "USAGE", "analyst"),
        ("schema", "marts", "", "", "USAGE", "vendor"),
    }
    assert grants.in_force(_log(), dt.datetime(2026, 3, 1, 1, 0)).empty  # strictly before the first run


def test_grants_diff_equals_the_set_difference():
    before, after = dt.datetime(2026, 4, 1), dt.datetime(2026, 6, 1)
    found = grants.diff(_log(), before, after)
    # independent: the grants each time sees, written out from the log by hand
    old = {
        ("table", "marts", "a", "", "SELECT", "pii_reader"),
        ("column", "marts", "a", "id", "SELECT", "analyst"),
        ("table", "marts", "b", "", "SELECT", "pii_reader"),
        ("schema", "marts", "", "", "USAGE", "analyst"),
        ("schema", "pii", "", "", "USAGE", "pii_reader"),
    }
    new = set(map(tuple, grants.in_force(_log(), after)[grants.GRANT_KEY].to_numpy()))
    expected = {("granted", *g) for g in new - old} | {("revoked", *g) for g in old - new}
    assert set(map(tuple, found.to_numpy())) == expected
    assert set(found["change"] + ":" + found["grantee"]) == {
        "granted:vendor",
        "revoked:analyst",
        "revoked:pii_reader",
    }
    assert len(found) == 4
    # r3 rebuilt b with no grant: after the quarter, b's pii_reader grant is gone too
    later = grants.diff(_log(), after, dt.datetime(2026, 8, 1))
    assert ("revoked", "table", "marts", "b", "", "SELECT", "pii_reader") in set(map(tuple, later.to_numpy()))


def test_quarter_bounds_meet_the_previous_quarter():
    start = asof.period_start("quarterly", fx.AS_OF)
    previous_as_of = start - dt.timedelta(days=1)
    _, previous_after = grants.quarter_bounds(asof.period_start("quarterly", previous_as_of), previous_as_of)
    before, after = grants.quarter_bounds(start, fx.AS_OF)
    assert previous_after == before and after == dt.datetime(2026, 6, 17)


# ------------------------------------------------------------------ the nightly report's retention rows


def test_the_nightly_report_shows_its_runs_retention_rows():
    from lawn.report import retention_rows

    audit = fx.retention_audit().sort_values(["applied_at", "run_id", "relation_name"])
    audit.loc[audit["run_id"] == "F", "run_id"] = "night-1-retention"
    note, rows = retention_rows(audit, {"run_id": "night-1"})
    assert rows["relation_name"].tolist() == ["ops.action_exports"]
    assert note == "This run's retention step: 1 table(s), 2 row(s) or file(s) purged."
    # another run (no retention step of its own): the latest run's rows, said so
    note, rows = retention_rows(audit, {"run_id": "night-2"})
    latest = audit[audit["applied_at"] == audit["applied_at"].max()]
    assert rows["relation_name"].tolist() == latest["relation_name"].tolist()
    assert note.startswith(
        f"This run applied no retention; the latest retention run was {latest['run_id'].iloc[0]}"
    )
    note, rows = retention_rows(audit.iloc[0:0], {"run_id": "night-3"})
    assert rows.empty and note == "No retention run yet (`lawn retention apply`)."


def test_grants_diff_cli_bad_time_is_one_line_exit_2():
    result = CliRunner().invoke(
        app, ["postgres", "grants-diff", "--since", "last spring"], env={"COLUMNS": "300"}
    )
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "error: --since 'last spring': not an ISO date or timestamp (YYYY-MM-DD[THH:MM[:SS]][+HH:MM|Z])"
    ]
    # a probe (2026-12-07): an offset was dropped (10:00+01:00 read as 10:00 UTC), Python's basic
    # and week forms and a reversed window were accepted; checked before any connection
    for text in ("20261201", "2026-W49-1"):
        result = CliRunner().invoke(app, ["postgres", "grants-diff", "--since", text], env={"COLUMNS": "300"})
        assert result.exit_code == 2 and "not an ISO date or timestamp" in result.output, result.output
    result = CliRunner().invoke(
        app,
        ["postgres", "grants-diff", "--since", "2026-12-07T10:00:00+01:00", "--until", "2026-12-07T08:30:00"],
        env={"COLUMNS": "300"},
    )
    assert result.exit_code == 2, result.output
    assert result.output.strip() == "error: --until 2026-12-07 08:30:00 is before --since 2026-12-07 09:00:00"


def test_a_catalog_that_cannot_be_made_is_archived_as_such(tmp_path, monkeypatch):
    """The first render's failure to make the catalog is kept: a re-render says the same
    (instead of running the catalog again), until a --catalog is given explicitly."""
    import lawn.catalog

    calls = []

    def failing(db_path, out_dir, project_dir=None):
        calls.append(db_path)
        raise lawn.catalog.CatalogError("dbt docs generate failed: boom")

    monkeypatch.setattr(lawn.catalog, "make_catalog", failing)
    db = fx.write_warehouse(tmp_path / "w.duckdb")
    store = fx.write_model_store(tmp_path / "store")
    first = write_cadence_report(db, "quarterly", None, tmp_path / "out", store, tmp_path / "none.json")
    md = first[1].read_text()
    assert "Not available: the catalog could not be made (dbt docs generate failed: boom)." in md
    # each section that reads the dictionary says so (three were left out without a word)
    for title in ("catalog completeness", "PII columns and where they live", "masked share", "grants"):
        section = md.split(f": {title}\n", 1)[1].split("\n## ", 1)[0]
        assert "Not available: the catalog could not be made" in section, title
    again = write_cadence_report(db, "quarterly", None, tmp_path / "out", store, tmp_path / "none.json")
    assert again[2] is None and again[1].read_text() == md and len(calls) == 1
    fixed = write_cadence_report(
        db,
        "quarterly",
        None,
        tmp_path / "out",
        store,
        tmp_path / "none.json",
        fx.write_dictionary(tmp_path / "d.csv"),
    )
    assert fixed[2] is not None and "Compliance: masked share" in fixed[1].read_text()


def test_a_table_whose_catalog_class_is_not_its_policys_is_named():
    check = {
        "class_map": {"model_scores": "model_artifact", "raw_landing": "raw_events"},
        "rows": [
            {
                "relation_name": "ml.model_monitoring",
                "retention_class": "model_scores",
                "catalog_class": "operational_log",
            },
            {
                "relation_name": "ml.churn_scores",
                "retention_class": "model_scores",
                "catalog_class": "model_artifact",
            },
            {"relation_name": "raw.raw_events", "retention_class": "raw_landing", "catalog_class": ""},
        ],
    }
    assert compliance.class_mismatches(check) == [
        "ml.model_monitoring: policy model_scores enforces catalog class model_artifact, "
        "but its time column is operational_log"
    ]
