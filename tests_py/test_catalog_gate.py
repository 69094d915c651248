"""The catalog gate (macros/governance/, on-run-start and on-run-end of every dbt run), the
data dictionary (`lawn catalog`) and masking: direct PII only in the `pii` schema.

Gate rules are tested on small hand-written models added to a copy of the project; the
expected meta is read independently (PyYAML, the tracking-plan CSV with pandas)."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from lawn import dbt_runner
from lawn.catalog import build_dictionary, undeclared_columns
from lawn.cli import app
from lawn.paths import REPO_ROOT
from tests_py.conftest import TEST_HASH_KEY, query, run_dbt

META_KEYS = ("owner", "purpose", "data_class", "retention_class")
PLAN_CSV = REPO_ROOT / "seeds" / "tracking_plan" / "tracking_plan_properties.csv"
EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
IPV4 = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.])")


def project_copy(root: Path, files: dict[str, str]) -> Path:
    """A copy of the dbt project with ``files`` (relative path -> text) added."""
    root.mkdir(parents=True)
    for name in (
        "dbt_project.yml",
        "profiles.yml",
        "macros",
        "models",
        "seeds",
        "snapshots",
        "tests",
        "analyses",
    ):
        source = REPO_ROOT / name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, root / name)
    for relative, text in files.items():
        (root / relative).write_text(text)
    return root


def resolved_meta(project: Path, db_path: Path, work: Path) -> dict:
    """The gate's resolved meta and problems (`dbt run-operation catalog_meta_json`)."""
    result = dbt_runner.run_dbt(
        ["--quiet", "run-operation", "catalog_meta_json"], db_path, target_path=work, project_dir=project
    )
    assert result.returncode == 0, result.stdout[-3000:]
    return json.loads(next(line for line in result.stdout.splitlines() if line.startswith('{"columns"')))


def yaml_column_meta() -> dict[tuple[str, str], dict]:
    """(node name, column) -> meta, for every column that declares meta, read with PyYAML."""
    found: dict[tuple[str, str], dict] = {}
    for path in [
        *REPO_ROOT.glob("models/**/*.yml"),
        *REPO_ROOT.glob("seeds/**/*.yml"),
        *REPO_ROOT.glob("snapshots/*.yml"),
    ]:
        doc = yaml.safe_load(path.read_text()) or {}
        entries = [(n["name"], n) for key in ("models", "seeds", "snapshots") for n in doc.get(key) or []]
        entries += [
            (f"{s['name']}.{t['name']}", t) for s in doc.get("sources") or [] for t in s.get("tables") or []
        ]
        for name, node in entries:
            for column in node.get("columns") or []:
                if column.get("meta"):
                    found[(name, column["name"])] = column["meta"]
    return found


def node_name(unique_id: str) -> str:
    parts = unique_id.split(".")
    return ".".join(parts[2:]) if parts[0] == "source" else parts[2]


# --- the project passes ------------------------------------------------------------------


@pytest.fixture(scope="module")
def project_meta(tmp_path_factory) -> dict:
    work = tmp_path_factory.mktemp("gate_project")
    return resolved_meta(REPO_ROOT, work / "empty.duckdb", work / "target")


def test_the_project_passes_the_gate(project_meta):
    assert project_meta["problems"] == []
    columns = [
        (uid, name, meta) for uid, cols in project_meta["columns"].items() for name, meta in cols.items()
    ]
    assert len(columns) > 1000
    incomplete = [(uid, name) for uid, name, meta in columns if not all(meta.get(key) for key in META_KEYS)]
    assert incomplete == []
    kinds = {uid.split(".")[0] for uid, _, _ in columns}
    assert kinds == {"source", "seed", "model", "snapshot"}


def test_own_meta_is_what_the_yaml_says(project_meta):
    """Every column's own meta (read here with PyYAML) is what the gate resolved; others
    inherited it (and say from where)."""
    declared = yaml_column_meta()
    inherited = 0
    for uid, cols in project_meta["columns"].items():
        for name, meta in cols.items():
            own = declared.get((node_name(uid), name), {})
            for key in META_KEYS:
                if key in own:
                    assert meta[key] == own[key] and meta[f"{key}__from"] == "own", (uid, name, key)
                else:
                    assert meta[f"{key}__from"] != "own", (uid, name, key)
                    inherited += 1
    assert inherited > 1000


def test_direct_pii_lives_only_where_allowed(project_meta):
    """Direct PII only in sources, seeds, staging, intermediate and the pii schema: by the
    naming convention here (the gate itself checks the schema)."""
    direct = {
        uid
        for uid, cols in project_meta["columns"].items()
        for m in cols.values()
        if m["data_class"] == "direct_pii"
    }
    assert "model.lawn.pii_users" in direct and "source.lawn.tracking.raw_events" in direct
    models = {uid.split(".")[2] for uid in direct if uid.startswith("model.")}
    assert all(name.startswith(("stg_", "int_", "pii_")) for name in models), sorted(models)
    assert set(project_meta["direct_pii_schemas"]) == {"raw", "registry", "staging", "intermediate", "pii"}


# --- the gate fails a build -------------------------------------------------------------

NO_OWNER_SQL = "select 1 as order_count\n"
NO_OWNER_YML = """version: 2
models:
  - name: tmp_gate_orders
    description: A hand-written mart whose column has no owner.
    columns:
      - name: order_count
        description: Orders.
        meta: {purpose: testing the gate, data_class: business, retention_class: business_record}
"""
PII_MART_SQL = "select user_id, email from {{ ref('int_identity_user_profiles') }}\n"
VENDOR_SQL = "select 'a@b.example' as contact_email\n"
PII_MART_YML = """version: 2
models:
  - name: tmp_gate_emails
    description: A hand-written mart passing an email through from the identity profiles.
    columns:
      - name: user_id
        description: Inherits pseudonymous.
      - name: email
        description: Inherits direct_pii.
  - name: tmp_gate_vendor
    description: A vendor export with an email declared as such.
    config: {tags: [vendor]}
    columns:
      - name: contact_email
        description: Email.
        meta: {owner: growth, purpose: testing, data_class: direct_pii, retention_class: identity}
"""


def test_a_column_without_owner_fails_the_build(tmp_path):
    project = project_copy(
        tmp_path / "project",
        {"models/marts/tmp_gate_orders.sql": NO_OWNER_SQL, "models/marts/_tmp_gate.yml": NO_OWNER_YML},
    )
    result = dbt_runner.run_dbt(
        ["build", "--select", "tmp_gate_orders"],
        tmp_path / "w.duckdb",
        target_path=tmp_path / "t",
        project_dir=project,
    )
    assert result.returncode != 0
    assert "model.lawn.tmp_gate_orders.order_count: missing meta owner" in result.stdout
    assert "1 problem(s)" in result.stdout


def test_direct_pii_in_a_mart_or_a_vendor_model_fails_the_build(tmp_path):
    project = project_copy(
        tmp_path / "project",
        {
            "models/marts/tmp_gate_emails.sql": PII_MART_SQL,
            "models/intermediate/tmp_gate_vendor.sql": VENDOR_SQL,
            "models/marts/_tmp_gate.yml": PII_MART_YML,
        },
    )
    result = dbt_runner.run_dbt(
        ["build", "--select", "tmp_gate_emails"],
        tmp_path / "w.duckdb",
        target_path=tmp_path / "t",
        project_dir=project,
    )
    assert result.returncode != 0
    assert (
        "model.lawn.tmp_gate_emails.email: direct_pii in schema 'marts' (allowed: raw, registry, staging,"
        " intermediate, pii; from model.lawn.int_identity_user_profiles.email)"
    ) in result.stdout
    assert "model.lawn.tmp_gate_vendor.contact_email: direct_pii in a vendor-tagged model" in result.stdout
    assert "tmp_gate_emails.user_id" not in result.stdout, "pseudonymous ids may be in marts"
    assert "2 problem(s)" in result.stdout


def test_a_built_column_missing_from_the_yaml_fails_the_run(tmp_path):
    """on-run-end: a column the warehouse has but the YAML does not declare has no meta."""
    yml = NO_OWNER_YML.replace("{purpose:", "{owner: data, purpose:")
    project = project_copy(
        tmp_path / "project",
        {
            "models/marts/tmp_gate_orders.sql": "select 1 as order_count, 2 as hidden_count\n",
            "models/marts/_tmp_gate.yml": yml,
        },
    )
    db_path = tmp_path / "w.duckdb"
    result = run_dbt(
        ["build", "--select", "tmp_gate_orders"], db_path, tmp_path, check=False, project_dir=project
    )
    assert result.returncode != 0
    assert "model.lawn.tmp_gate_orders.hidden_count: in the warehouse but not declared" in result.stdout
    assert "order_count: in the warehouse" not in result.stdout


# --- inheritance -------------------------------------------------------------------------

PASSTHROUGH_SQL = """select
    profiles.user_id,
    profiles.email,
    profiles.account_id,
    {{ json_extract_scalar('events.properties', "'invitee_email'") }} as invitee_email,
    {{ json_extract_scalar('events.properties', "'comment'") }} as comment
from {{ ref('int_identity_user_profiles') }} as profiles
inner join {{ ref('int_events_valid') }} as events on profiles.user_id = events.user_id
"""
PASSTHROUGH_YML = """version: 2
models:
  - name: tmp_gate_passthrough
    description: Hand-written passthrough without meta, plus two properties pulled from JSON.
    columns:
      - name: user_id
        description: Passed through.
      - name: email
        description: Passed through, with its own owner.
        meta: {owner: tmp_team}
      - name: account_id
        description: Passed through.
      - name: invitee_email
        description: A tracking-plan property.
      - name: comment
        description: A tracking-plan property.
"""


@pytest.fixture(scope="module")
def passthrough(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("gate_passthrough")
    project = project_copy(
        root / "project",
        {
            "models/intermediate/tmp_gate_passthrough.sql": PASSTHROUGH_SQL,
            "models/intermediate/_tmp_gate.yml": PASSTHROUGH_YML,
        },
    )
    return root, project


def test_a_passthrough_column_inherits_its_upstream_meta(passthrough):
    root, project = passthrough
    meta = resolved_meta(project, root / "empty.duckdb", root / "t1")
    mine = meta["columns"]["model.lawn.tmp_gate_passthrough"]
    upstream = meta["columns"]["model.lawn.int_identity_user_profiles"]
    declared = yaml_column_meta()
    for column in ("user_id", "account_id"):
        for key in META_KEYS:
            assert mine[column][key] == upstream[column][key]
            assert mine[column][f"{key}__from"] == f"model.lawn.int_identity_user_profiles.{column}"
    assert mine["email"]["owner"] == "tmp_team" and mine["email"]["owner__from"] == "own"
    assert mine["email"]["data_class"] == declared[("int_identity_user_profiles", "email")]["data_class"]
    assert mine["email"]["data_class"] == "direct_pii"
    # without the tracking plan in the warehouse, a property pulled from JSON has no meta
    assert (
        "model.lawn.tmp_gate_passthrough.invitee_email: missing meta owner, purpose, data_class"
        in " ".join(meta["problems"])
    )


def test_tracking_plan_classes_flow_into_staged_columns(passthrough):
    root, project = passthrough
    db_path = root / "with_plan.duckdb"
    with duckdb.connect(str(db_path)) as connection:
        connection.execute("create schema registry")
        connection.execute(
            "create table registry.tracking_plan_properties as select * from read_csv(?, all_varchar = true)",
            [str(PLAN_CSV)],
        )
    meta = resolved_meta(project, db_path, root / "t2")
    mine = meta["columns"]["model.lawn.tmp_gate_passthrough"]
    plan = pd.read_csv(PLAN_CSV, dtype=str)
    mapping = {
        "personal": "direct_pii",
        "sensitive": "indirect_pii",
        "pseudonymous": "pseudonymous",
        "none": "business",
    }
    for prop in ("invitee_email", "comment"):
        rows = plan[plan["property_name"] == prop]
        assert mine[prop]["data_class"] == mapping[rows["pii_class"].iloc[0]]
        assert mine[prop]["owner"] == rows["owner"].iloc[0]
        assert mine[prop]["data_class__from"] == f"tracking_plan.{prop}"
    assert (
        mine["invitee_email"]["data_class"] == "direct_pii"
        and mine["comment"]["data_class"] == "indirect_pii"
    )
    # the plan gives no retention class: that one is still missing, and named
    assert "model.lawn.tmp_gate_passthrough.invitee_email: missing meta retention_class" in meta["problems"]


# --- masking: marts never carry the demo data's emails or IP addresses -------------------


def _tokens(values: pd.Series) -> set[str]:
    found: set[str] = set()
    for value in values.dropna().astype(str):
        found.update(EMAIL.findall(value))
        found.update(IPV4.findall(value))
    return found


def _scan_schema(db_path: Path, schema: str) -> dict[str, set[str]]:
    with duckdb.connect(str(db_path), read_only=True) as connection:
        columns = connection.execute(
            "select table_name, column_name from information_schema.columns "
            "where table_schema = ? and data_type in ('VARCHAR', 'JSON') order by 1, 2",
            [schema],
        ).fetchall()
        hits = {}
        for table, column in columns:
            values = connection.execute(f'select distinct "{column}" from {schema}."{table}"').df().iloc[:, 0]
            hits[f"{table}.{column}"] = _tokens(values)
    return hits


def test_no_marts_string_column_holds_an_email_or_ip_address(built_small):
    raw = query(built_small, "select properties, context from raw.raw_events")
    demo = _tokens(raw["properties"]) | _tokens(raw["context"])
    assert sum(1 for t in demo if "@" in t) > 50 and sum(1 for t in demo if "@" not in t) > 50
    marts = _scan_schema(built_small, "marts")
    assert len(marts) > 150, "every string column of every marts table and view"
    leaks = {column: sorted(tokens)[:3] for column, tokens in marts.items() if tokens}
    assert leaks == {}
    # the scanner is not blind: the restricted schema holds the same demo values
    restricted = set().union(*_scan_schema(built_small, "pii").values())
    assert restricted & demo and len({t for t in restricted if "@" in t}) > 50


def test_masked_marts_keep_what_analysts_need(built_small):
    users = query(
        built_small,
        "select users.email_key, pii_users.email from marts.dim_users as users "
        "inner join pii.pii_users as pii_users on users.person_id = pii_users.person_id "
        "where pii_users.email is not null",
    )
    assert len(users) > 20 and users["email_key"].str.fullmatch(r"[0-9a-f]{64}").all()
    assert users.groupby("email")["email_key"].nunique().max() == 1, "one key per email"
    quarantined = query(
        built_small,
        "select quarantined.payload_characters, quarantined.payload_key, payloads.context_raw, "
        "payloads.properties_raw from marts.fct_quarantined_events as quarantined "
        "inner join pii.pii_quarantined_event_payloads as payloads "
        "on quarantined.raw_event_key = payloads.raw_event_key",
    )
    assert (
        len(quarantined)
        == query(built_small, "select count(*) as n from marts.fct_quarantined_events")["n"][0]
    )
    expected = (
        quarantined["context_raw"].fillna("").str.len() + quarantined["properties_raw"].fillna("").str.len()
    )
    assert (quarantined["payload_characters"] == expected).all()
    # payload_key is HMAC-SHA256 of `context|properties` under the build's key (Python's hmac)
    recomputed = [
        hmac.new(TEST_HASH_KEY.secret, f"{c or ''}|{p or ''}".encode(), hashlib.sha256).hexdigest()
        for c, p in zip(quarantined["context_raw"], quarantined["properties_raw"], strict=True)
    ]
    assert recomputed == quarantined["payload_key"].tolist()
    emails = users.drop_duplicates("email")
    keyed = [hmac.new(TEST_HASH_KEY.secret, e.encode(), hashlib.sha256).hexdigest() for e in emails["email"]]
    assert keyed == emails["email_key"].tolist()
    events = query(
        built_small,
        "select events.properties as masked, personal.properties as whole from marts.fct_events as events "
        "inner join pii.pii_event_personal_data as personal on events.event_id = personal.event_id "
        "where events.event_name = 'signed_up'",
    )
    plan = pd.read_csv(PLAN_CSV, dtype=str)
    masked_names = set(plan.loc[plan["pii_class"].isin(["personal", "sensitive"]), "property_name"])
    shown_names = set(plan["property_name"]) - masked_names  # undeclared keys are not shown either
    for masked, whole in zip(events["masked"], events["whole"], strict=True):
        whole_props = json.loads(whole)
        assert json.loads(masked) == {k: v for k, v in whole_props.items() if k in shown_names}
    assert any("email" in json.loads(w) for w in events["whole"])


# --- the data dictionary ------------------------------------------------------------------


def test_lawn_catalog_writes_the_dictionary(built_small, tmp_path):
    out = tmp_path / "catalog"
    result = CliRunner().invoke(app, ["catalog", "--out", str(out), "--db", str(built_small)])
    assert result.exit_code == 0, result.output
    dictionary = pd.read_csv(out / "data_dictionary.csv", dtype=str, keep_default_na=False)
    assert (dictionary[list(META_KEYS)] != "").all().all()
    row = dictionary.set_index(["model", "column"])
    assert ("dim_users", "email") not in row.index
    events_user = row.loc[("fct_events", "user_id")]
    assert events_user["data_class"] == "pseudonymous" and events_user["type"].upper() == "VARCHAR"
    assert events_user["raw_field"] == "tracking.raw_events.user_id"
    assert events_user["lineage"].startswith("fct_events.user_id <- int_events_attributed.user_id")
    assert row.loc[("pii_users", "first_name")]["raw_field"] == "tracking.raw_events.properties.first_name"
    assert row.loc[("pii_users", "email")]["data_class"] == "direct_pii"
    # own meta as the YAML says (read here with PyYAML)
    for (name, column), meta in yaml_column_meta().items():
        if (name, column) in row.index and "data_class" in meta:
            assert row.loc[(name, column)]["data_class"] == meta["data_class"], (name, column)
    page = (out / "data_dictionary.html").read_text()
    assert "lawn data dictionary" in page and "catalog gate: every column carries" in page
    counts = dictionary["data_class"].value_counts()
    assert f"direct_pii {counts['direct_pii']}" in result.output


def test_dbt_docs_generate_keeps_working(built_small, tmp_path):
    run_dbt(["docs", "generate"], built_small, tmp_path)
    manifest = json.loads((tmp_path / "target" / "manifest.json").read_text())
    catalog = json.loads((tmp_path / "target" / "catalog.json").read_text())
    assert "model.lawn.pii_users" in catalog["nodes"]
    assert manifest["nodes"]["model.lawn.pii_users"]["columns"]["email"]["meta"]["data_class"] == "direct_pii"


def test_catalog_refuses_a_file_as_out_folder(tmp_path):
    target = tmp_path / "a_file"
    target.write_text("x")
    result = CliRunner().invoke(app, ["catalog", "--out", str(target), "--db", str(tmp_path / "none.duckdb")])
    assert result.exit_code == 2
    assert "--out" in result.output and "Traceback" not in result.output


def _node(uid: str, columns: list[str], parents: list[str]) -> dict:
    kind, _, rest = uid.split(".", 2)
    node = {
        "resource_type": kind,
        "package_name": "lawn",
        "name": rest.split(".")[-1],
        "schema": "raw" if kind == "source" else "staging",
        "columns": {c: {"name": c, "description": f"{c} here."} for c in columns},
        "depends_on": {"nodes": parents},
    }
    if kind == "source":
        node["source_name"] = rest.split(".")[0]
    return node


def test_dictionary_lineage_and_undeclared_columns_on_a_hand_written_graph():
    """raw_events -> stg (passes user_id, extracts email) -> int (passes both, computes n)."""
    raw, stg, mart = "source.lawn.tracking.raw_events", "model.lawn.stg_x", "model.lawn.int_x"
    manifest = {
        "sources": {raw: _node(raw, ["user_id", "properties"], [])},
        "nodes": {
            stg: _node(stg, ["user_id", "email"], [raw]),
            mart: _node(mart, ["user_id", "email", "n"], [stg]),
        },
    }
    meta = {"data_class": "business", "owner": "o", "purpose": "p", "retention_class": "r"}
    resolved = {
        uid: {c: dict(meta) for c in n["columns"]}
        for uid, n in {**manifest["nodes"], **manifest["sources"]}.items()
    }
    resolved[mart]["email"]["data_class__from"] = "model.lawn.stg_x.email"
    catalog = {
        "nodes": {mart: {"columns": {"USER_ID": {"type": "VARCHAR"}, "n": {"type": "BIGINT"}}}},
        "sources": {raw: {"columns": {"user_id": {}, "properties": {}, "context": {}}}},
    }
    dictionary = build_dictionary(manifest, catalog, resolved, {"email"}).set_index(["model", "column"])
    assert dictionary.loc[("int_x", "user_id"), "lineage"] == (
        "int_x.user_id <- stg_x.user_id <- tracking.raw_events.user_id"
    )
    assert dictionary.loc[("int_x", "user_id"), "raw_field"] == "tracking.raw_events.user_id"
    assert dictionary.loc[("int_x", "user_id"), "type"] == "VARCHAR"
    assert dictionary.loc[("int_x", "email"), "raw_field"] == "tracking.raw_events.properties.email"
    assert dictionary.loc[("int_x", "email"), "meta_from"] == "model.lawn.stg_x.email"
    assert (
        dictionary.loc[("int_x", "n"), "raw_field"] == ""
        and dictionary.loc[("int_x", "n"), "lineage"] == "int_x.n"
    )
    assert undeclared_columns(manifest, catalog) == [
        "source.lawn.tracking.raw_events.context: in the warehouse but not declared in YAML (no meta)"
    ]
