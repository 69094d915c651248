"""The retention configuration lawn's retention enforces (``lawn.retention``): the policies
(``seeds/governance/retention_policies.csv``), the tables and files each class applies to
(``retention_tables.csv``, or the manifest's column meta when it names a class with a policy),
and the map from policy classes to the catalog's retention classes
(``retention_class_map.csv``). Every loader checks its file and names file, line and field in
a ``RetentionError`` (exit 2)."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

from lawn.paths import REPO_ROOT, SEEDS_DIR
from lawn.settings import var

POLICIES_FILE = SEEDS_DIR / "governance" / "retention_policies.csv"
TABLES_FILE = SEEDS_DIR / "governance" / "retention_tables.csv"
# the one place the policy classes meet the catalog's retention classes (column meta)
CLASS_MAP_FILE = SEEDS_DIR / "governance" / "retention_class_map.csv"
MANIFEST_FILE = REPO_ROOT / "target" / "manifest.json"
ACTIONS = ("delete", "anonymise")


class RetentionError(ValueError):
    """Bad retention configuration or an unusable warehouse (one line; exit 2)."""


@dataclass(frozen=True)
class Policy:
    retention_class: str
    keep_days: int
    action: str
    time_semantics: str


@dataclass(frozen=True)
class Target:
    relation: str
    retention_class: str
    time_column: str
    anonymise_columns: tuple[str, ...]
    class_from: str  # "manifest" or "map"
    catalog_class: str = ""  # the manifest's meta retention_class of the time column ('' if none)


def _rows(path: Path, required: tuple[str, ...]) -> list[dict[str, str]]:
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            missing = [name for name in required if name not in (reader.fieldnames or [])]
            if missing:
                raise RetentionError(f"{path}: missing column(s) {', '.join(missing)}")
            return list(reader)
    except OSError as exc:
        raise RetentionError(f"{path}: cannot be read ({exc.strerror})") from exc


def load_policies(path: Path = POLICIES_FILE) -> dict[str, Policy]:
    """The retention classes; a bad row is an error naming file, line and field."""
    policies: dict[str, Policy] = {}
    for line, row in enumerate(_rows(path, ("retention_class", "keep_days", "action")), start=2):
        name = (row["retention_class"] or "").strip()
        if not name:
            raise RetentionError(f"{path}: line {line}: empty retention_class")
        if name in policies:
            raise RetentionError(f"{path}: line {line}: retention_class {name!r} repeated")
        try:
            keep_days = int(row["keep_days"])
        except (TypeError, ValueError):
            raise RetentionError(
                f"{path}: line {line}: keep_days {row['keep_days']!r} is not a whole number"
            ) from None
        if keep_days < 1:
            raise RetentionError(f"{path}: line {line}: keep_days must be at least 1, got {keep_days}")
        action = (row["action"] or "").strip()
        if action not in ACTIONS:
            raise RetentionError(f"{path}: line {line}: action {action!r} is not one of {', '.join(ACTIONS)}")
        policies[name] = Policy(name, keep_days, action, (row.get("time_semantics") or "").strip())
    raw, history = policies.get("raw_landing"), policies.get("event_history")
    if raw and history and history.keep_days > raw.keep_days:
        raise RetentionError(
            f"{path}: event_history keeps {history.keep_days} days but raw_landing only {raw.keep_days}: "
            "the identity graph is rebuilt from raw landing, so events older than raw would lose their "
            "person (keep raw_landing at least as long as event_history)"
        )
    return policies


def catalog_classes() -> dict[str, str]:
    """The catalog's retention classes (var governance_retention_classes): name -> what it covers."""
    return {str(k): str(v) for k, v in (var("governance_retention_classes") or {}).items()}


def load_class_map(
    policies: dict[str, Policy], path: Path = CLASS_MAP_FILE, classes: dict[str, str] | None = None
) -> dict[str, str]:
    """policy class -> catalog retention class. Every policy must be mapped exactly once, to
    a class the catalog knows; a bad row is an error naming file, line and field."""
    known = catalog_classes() if classes is None else classes
    found: dict[str, str] = {}
    rows = _rows(path, ("policy_class", "catalog_retention_class"))
    for line, row in enumerate(rows, start=2):
        policy = (row["policy_class"] or "").strip()
        catalog = (row["catalog_retention_class"] or "").strip()
        if policy not in policies:
            raise RetentionError(
                f"{path}: line {line}: policy_class {policy!r} is not in the retention policies"
            )
        if policy in found:
            raise RetentionError(f"{path}: line {line}: policy_class {policy!r} repeated")
        if catalog not in known:
            raise RetentionError(
                f"{path}: line {line}: catalog_retention_class {catalog!r} is not one of "
                f"{', '.join(known)} (var governance_retention_classes)"
            )
        found[policy] = catalog
    missing = sorted(set(policies) - set(found))
    if missing:
        raise RetentionError(f"{path}: no catalog_retention_class for policy class(es) {', '.join(missing)}")
    return found


def _manifest_classes(manifest_path: Path | None) -> dict[tuple[str, str], str]:
    """(relation, column) -> retention_class from the manifest's column meta (models,
    snapshots, seeds and sources); {} when there is no manifest."""
    if manifest_path is None or not manifest_path.exists():
        return {}
    try:
        manifest = json.loads(manifest_path.read_text())
    except (OSError, ValueError):
        return {}
    found: dict[tuple[str, str], str] = {}
    nodes = list(manifest.get("nodes", {}).values()) + list(manifest.get("sources", {}).values())
    for node in nodes:
        relation = f"{node.get('schema')}.{node.get('alias') or node.get('identifier') or node.get('name')}"
        for column in (node.get("columns") or {}).values():
            meta = {**(column.get("config") or {}).get("meta", {}), **(column.get("meta") or {})}
            if meta.get("retention_class"):
                found[(relation, column.get("name"))] = str(meta["retention_class"])
    return found


def load_targets(
    policies: dict[str, Policy], path: Path = TABLES_FILE, manifest_path: Path | None = MANIFEST_FILE
) -> list[Target]:
    """The tables (and files) to purge, each with its class: the manifest's column meta
    when present and a policy exists for it, else the map's."""
    from_manifest = _manifest_classes(manifest_path)
    targets = []
    seen = set()
    for line, row in enumerate(_rows(path, ("relation", "retention_class", "time_column")), start=2):
        relation = (row["relation"] or "").strip()
        time_column = (row["time_column"] or "").strip()
        if not relation or not time_column:
            raise RetentionError(f"{path}: line {line}: relation and time_column are required")
        if relation in seen:
            raise RetentionError(f"{path}: line {line}: relation {relation!r} repeated")
        seen.add(relation)
        manifest_class = from_manifest.get((relation, time_column))
        if manifest_class not in policies:
            # the catalog's coarser class (docs/governance.md) without a policy of its own:
            # the map's policy class applies
            manifest_class = None
        retention_class = manifest_class or (row["retention_class"] or "").strip()
        if retention_class not in policies:
            where = "the manifest's meta" if manifest_class else f"{path}: line {line}"
            raise RetentionError(f"{where}: retention_class {retention_class!r} of {relation} has no policy")
        columns = tuple(c.strip() for c in (row.get("anonymise_columns") or "").split("|") if c.strip())
        if policies[retention_class].action == "anonymise" and not columns:
            raise RetentionError(
                f"{path}: line {line}: {relation} is anonymised but names no anonymise_columns"
            )
        targets.append(
            Target(
                relation,
                retention_class,
                time_column,
                columns,
                "manifest" if manifest_class else "map",
                from_manifest.get((relation, time_column), ""),
            )
        )
    return targets
