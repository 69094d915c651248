"""The data dictionary (`lawn catalog`): every column of every source, seed, model and
snapshot with its type, description and governance meta (owner, purpose, data class,
retention class) after the catalog gate's inheritance, and its lineage up to the raw field.

One implementation of the rules: the meta comes from the gate itself (`dbt run-operation
catalog_meta_json`, macros/governance/), types and descriptions from `dbt docs generate`
(manifest.json + catalog.json). Lineage is name-based: a column is followed to the
same-named column of the node it depends on (the one with the most restrictive data class
when several have it) until no parent has it; a column named like a tracking-plan
property that first appears in a model reading the events is traced to
`raw_events.properties.<name>`. Renamed or computed columns end at the model that makes
them (documented in docs/governance.md)."""

from __future__ import annotations

import html
import json
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

META_KEYS = ("owner", "purpose", "data_class", "retention_class")
CLASS_RANK = {"direct_pii": 5, "indirect_pii": 4, "pseudonymous": 3, "business": 2, "operational": 1}
DICTIONARY_COLUMNS = [
    "resource_type",
    "model",
    "schema",
    "column",
    "type",
    "description",
    "owner",
    "purpose",
    "data_class",
    "retention_class",
    "meta_from",
    "lineage",
    "raw_field",
]
RAW_EVENTS_SOURCE = "source.lawn.tracking.raw_events"


class CatalogError(Exception):
    """dbt could not produce the manifest, the catalog or the resolved meta."""


@dataclass
class CatalogResult:
    dictionary: pd.DataFrame
    problems: list[str] = field(default_factory=list)
    csv_path: Path | None = None
    html_path: Path | None = None


def _label(node: Mapping) -> str:
    if node["resource_type"] == "source":
        return f"{node['source_name']}.{node['name']}"
    return str(node["name"])


def _governed(manifest: Mapping) -> dict[str, Mapping]:
    nodes = {
        uid: node
        for uid, node in manifest["nodes"].items()
        if node["resource_type"] in ("model", "seed", "snapshot") and node["package_name"] == "lawn"
    }
    nodes.update({uid: node for uid, node in manifest["sources"].items() if node["package_name"] == "lawn"})
    return nodes


def _ancestors(uid: str, nodes: Mapping[str, Mapping], memo: dict[str, set[str]]) -> set[str]:
    if uid not in memo:
        memo[uid] = set()
        parents = [p for p in nodes[uid].get("depends_on", {}).get("nodes", []) if p in nodes]
        for parent in parents:
            memo[uid] |= {parent} | _ancestors(parent, nodes, memo)
    return memo[uid]


def lineage(
    uid: str,
    column: str,
    nodes: Mapping[str, Mapping],
    resolved: Mapping[str, Mapping[str, Mapping]],
    plan_properties: set[str],
    ancestors: dict[str, set[str]],
) -> tuple[list[str], str]:
    """The hops ``node.column`` from this column up to where it starts, and its raw field
    (a source or seed column, ``raw_events.properties.<name>``, or '' when a model computes
    it)."""
    hops = [f"{_label(nodes[uid])}.{column}"]
    current = uid
    seen = {uid}
    while True:
        node = nodes[current]
        parents = [
            p
            for p in node.get("depends_on", {}).get("nodes", [])
            if p in nodes and p not in seen and column in nodes[p]["columns"]
        ]
        if not parents:
            break
        # as the gate inherits: the first parent (depends_on order) of the highest class
        current = max(
            parents,
            key=lambda p: (
                CLASS_RANK.get(resolved.get(p, {}).get(column, {}).get("data_class", ""), 0),
                -parents.index(p),
            ),
        )
        seen.add(current)
        hops.append(f"{_label(nodes[current])}.{column}")
    start = nodes[current]
    if start["resource_type"] in ("source", "seed"):
        raw_field = hops[-1]
    elif column in plan_properties and RAW_EVENTS_SOURCE in _ancestors(current, nodes, ancestors):
        raw_field = f"tracking.raw_events.properties.{column}"
        hops.append(raw_field)
    else:
        raw_field = ""
    return hops, raw_field


def undeclared_columns(manifest: Mapping, catalog: Mapping) -> list[str]:
    """``node.column: ...`` for every warehouse column (dbt's catalog.json) of a governed
    node that its YAML does not declare: it has no meta. The on-run-end gate checks what a
    run builds; this also covers sources, which no run builds."""
    nodes = _governed(manifest)
    found = {**catalog.get("nodes", {}), **catalog.get("sources", {})}
    problems = []
    for uid in sorted(nodes):
        declared = {name.lower() for name in nodes[uid]["columns"]}
        for name in found.get(uid, {}).get("columns", {}):
            if name.lower() not in declared:
                problems.append(f"{uid}.{name}: in the warehouse but not declared in YAML (no meta)")
    return problems


def build_dictionary(
    manifest: Mapping,
    catalog: Mapping,
    resolved: Mapping[str, Mapping[str, Mapping]],
    plan_properties: set[str],
) -> pd.DataFrame:
    """One row per governed column (manifest order), with type (warehouse catalog, else the
    declared data_type), description, resolved meta, its origin and lineage."""
    nodes = _governed(manifest)
    ancestors: dict[str, set[str]] = {}
    rows = []
    for uid in sorted(nodes, key=lambda u: (nodes[u]["resource_type"], _label(nodes[u]))):
        node = nodes[uid]
        found = {**catalog.get("nodes", {}), **catalog.get("sources", {})}.get(uid, {})
        types = {name.lower(): column.get("type", "") for name, column in found.get("columns", {}).items()}
        for name, column in node["columns"].items():
            meta = resolved.get(uid, {}).get(name, {})
            hops, raw_field = lineage(uid, name, nodes, resolved, plan_properties, ancestors)
            origins = sorted({str(meta.get(f"{key}__from", "")) for key in META_KEYS} - {"", "own"})
            rows.append(
                {
                    "resource_type": node["resource_type"],
                    "model": _label(node),
                    "schema": node["schema"],
                    "column": name,
                    "type": types.get(name.lower(), column.get("data_type") or ""),
                    "description": " ".join((column.get("description") or "").split()),
                    **{key: meta.get(key, "") for key in META_KEYS},
                    "meta_from": "own" if not origins else "; ".join(origins),
                    "lineage": " <- ".join(hops),
                    "raw_field": raw_field,
                }
            )
    return pd.DataFrame(rows, columns=DICTIONARY_COLUMNS)


def class_counts(dictionary: pd.DataFrame) -> pd.DataFrame:
    """Columns per data class and resource type (the catalog's summary)."""
    counts = dictionary.pivot_table(
        index="data_class", columns="resource_type", values="column", aggfunc="count", fill_value=0
    )
    counts["total"] = counts.sum(axis=1)
    return counts.sort_values("total", ascending=False)


def render_html(dictionary: pd.DataFrame, problems: list[str]) -> str:
    counts = class_counts(dictionary)
    summary = counts.to_html(classes="summary", border=0)
    status = (
        "<p class='ok'>catalog gate: every column carries owner, purpose, data class and retention class.</p>"
        if not problems
        else "<p class='bad'>catalog gate: "
        + str(len(problems))
        + " problem(s)</p><ul>"
        + "".join(f"<li>{html.escape(p)}</li>" for p in problems)
        + "</ul>"
    )
    header = "".join(f"<th>{html.escape(c)}</th>" for c in DICTIONARY_COLUMNS)
    body = "".join(
        f"<tr class='{html.escape(str(row['data_class']))}'>"
        + "".join(f"<td>{html.escape(str(row[c]))}</td>" for c in DICTIONARY_COLUMNS)
        + "</tr>"
        for _, row in dictionary.iterrows()
    )
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>lawn data dictionary</title>
<style>body{{font-family:sans-serif;font-size:13px}} table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:2px 4px;vertical-align:top}} th{{background:#eee;position:sticky;top:0}}
tr.direct_pii td{{background:#fde2e2}} tr.indirect_pii td{{background:#fff1d6}}
.ok{{color:#176b2c}} .bad{{color:#a11}}</style></head><body>
<h1>lawn data dictionary</h1>
<p>{len(dictionary)} columns of {dictionary["model"].nunique()} sources, seeds, models and snapshots.
Lineage is name-based (a column follows the same-named column of the node it reads) up to the
raw field; see docs/governance.md.</p>{status}
<h2>Columns per data class</h2>{summary}
<h2>Columns</h2><table><thead><tr>{header}</tr></thead><tbody>{body}</tbody></table></body></html>
"""


def write_dictionary(dictionary: pd.DataFrame, problems: list[str], out_dir: Path) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    csv_path = out_dir / "data_dictionary.csv"
    html_path = out_dir / "data_dictionary.html"
    dictionary.to_csv(csv_path, index=False)
    html_path.write_text(render_html(dictionary, problems), encoding="utf-8")
    return csv_path, html_path


def _parse_meta_output(stdout: str) -> dict:
    for line in reversed(stdout.splitlines()):
        if line.startswith('{"columns"'):
            return json.loads(line)
    raise CatalogError("dbt run-operation catalog_meta_json printed no meta: " + stdout.strip()[-300:])


def load_catalog_inputs(db_path: Path, project_dir: Path | None = None) -> tuple[dict, dict, dict]:
    """(manifest, catalog, meta) from dbt: `docs generate --no-compile` into a private target
    dir, then the gate's resolved meta. Raises CatalogError with dbt's last words on failure.

    The dictionary needs the parsed nodes (columns, meta, descriptions) and the warehouse's
    columns, never compiled SQL: compiling every model and test cost ~35 of the ~45 s a
    catalog took on the small world. Without compiling, `docs generate` writes catalog.json
    only; the manifest is the one `run-operation` writes when it parses the same project."""
    from lawn.dbt_runner import run_dbt
    from lawn.paths import REPO_ROOT

    project = project_dir or REPO_ROOT
    with tempfile.TemporaryDirectory(prefix="lawn-catalog-") as work:
        target = Path(work) / "target"
        docs = run_dbt(["docs", "generate", "--no-compile"], db_path, target_path=target, project_dir=project)
        if docs.returncode != 0:
            raise CatalogError("dbt docs generate failed: " + (docs.stdout or docs.stderr).strip()[-500:])
        catalog = json.loads((target / "catalog.json").read_text())
        meta_run = run_dbt(
            ["--quiet", "run-operation", "catalog_meta_json"],
            db_path,
            target_path=target,
            project_dir=project,
        )
        if meta_run.returncode != 0:
            raise CatalogError(
                "dbt run-operation catalog_meta_json failed: " + meta_run.stdout.strip()[-500:]
            )
        manifest = json.loads((target / "manifest.json").read_text())
    return manifest, catalog, _parse_meta_output(meta_run.stdout)


def plan_property_names(project_dir: Path) -> set[str]:
    plan = pd.read_csv(project_dir / "seeds" / "tracking_plan" / "tracking_plan_properties.csv", dtype=str)
    return set(plan["property_name"])


def make_catalog(db_path: Path, out_dir: Path, project_dir: Path | None = None) -> CatalogResult:
    from lawn.paths import REPO_ROOT

    project = project_dir or REPO_ROOT
    manifest, catalog, meta = load_catalog_inputs(db_path, project)
    dictionary = build_dictionary(manifest, catalog, meta["columns"], plan_property_names(project))
    problems = [*meta["problems"], *undeclared_columns(manifest, catalog)]
    csv_path, html_path = write_dictionary(dictionary, problems, out_dir)
    return CatalogResult(dictionary, problems, csv_path, html_path)
