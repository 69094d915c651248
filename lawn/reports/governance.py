"""Catalog completeness from dbt's target/manifest.json: per layer, the share of the project's
model columns that carry a description and each governance meta key. Column meta is read from
``columns.<name>.meta`` and ``columns.<name>.config.meta``; the keys looked for are META_KEYS.

The manifest is today's catalog, not the as-of day's: the first render of a report for a day
stores the figures in its dated folder (catalog_completeness.json) and every later render of
that day reads them back, so a re-render reproduces what the day's run wrote."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

META_KEYS = ("owner", "purpose", "data_class", "pii")
SNAPSHOT = "catalog_completeness.json"


class ManifestError(ValueError):
    """The manifest cannot be read; the message is one line."""


def _column_meta(column: dict) -> dict:
    meta = dict(column.get("meta") or {})
    meta.update((column.get("config") or {}).get("meta") or {})
    return meta


def completeness(manifest_path: Path) -> pd.DataFrame:
    """layer, models, columns, with_description, with_<key> ... (counts) for the project's models."""
    try:
        manifest = json.loads(manifest_path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ManifestError(
            f"--manifest {manifest_path}: {type(exc).__name__}: {str(exc).splitlines()[0]}"
        ) from exc
    project = (manifest.get("metadata") or {}).get("project_name")
    rows = []
    for node in (manifest.get("nodes") or {}).values():
        if node.get("resource_type") != "model" or (project and node.get("package_name") != project):
            continue
        parts = Path(node.get("original_file_path", "")).parts
        layer = parts[1] if len(parts) > 2 and parts[0] == "models" else "other"
        for column in (node.get("columns") or {}).values():
            meta = _column_meta(column)
            rows.append(
                {
                    "layer": layer,
                    "model": node.get("name"),
                    "has_description": bool((column.get("description") or "").strip()),
                    **{f"has_{key}": meta.get(key) not in (None, "") for key in META_KEYS},
                }
            )
    columns = ["has_description", *[f"has_{key}" for key in META_KEYS]]
    if not rows:
        return pd.DataFrame(
            columns=["layer", "models", "columns", *[c.replace("has_", "with_") for c in columns]]
        )
    frame = pd.DataFrame(rows)
    per_layer = frame.groupby("layer").agg(
        models=("model", "nunique"),
        columns=("model", "size"),
        **{c.replace("has_", "with_"): (c, "sum") for c in columns},
    )
    total = pd.DataFrame(
        [
            {
                "models": frame["model"].nunique(),
                "columns": len(frame),
                **{c.replace("has_", "with_"): int(frame[c].sum()) for c in columns},
            }
        ],
        index=["all"],
    )
    out = pd.concat([per_layer, total]).rename_axis("layer").reset_index()
    return out.astype({c: int for c in out.columns if c != "layer"})


def shares(counts: pd.DataFrame) -> pd.DataFrame:
    """The counts as shares of the layer's columns."""
    out = counts[["layer", "models", "columns"]].copy()
    for column in counts.columns:
        if column.startswith("with_"):
            out[column.replace("with_", "share_with_")] = counts[column] / counts["columns"].where(
                counts["columns"] > 0
            )
    return out


def snapshot(folder: Path, manifest_path: Path) -> tuple[pd.DataFrame, str]:
    """The day's completeness counts: the stored snapshot if there is one, else computed now
    from the manifest and stored. Returns the counts and where they came from."""
    path = folder / SNAPSHOT
    if path.exists():
        stored = json.loads(path.read_text())
        return pd.DataFrame(stored["rows"], columns=stored["columns"]), stored["source"]
    counts = completeness(manifest_path)
    source = f"{manifest_path.name} when this day's report was first written"
    folder.mkdir(parents=True, exist_ok=True)
    payload = {
        "source": source,
        "meta_keys": list(META_KEYS),
        "columns": list(counts.columns),
        "rows": counts.astype(object).values.tolist(),
    }
    path.write_text(json.dumps(payload, indent=1, default=int) + "\n")
    return counts, source
