"""Catalog completeness from the data dictionary `lawn catalog` writes (lawn/catalog.py): per
layer, the share of columns that carry a description and each governance meta key as the
catalog gate resolves it (own meta, else inherited from the upstream column or the tracking
plan), and the share that set all four keys themselves.

The dictionary is today's catalog, not the as-of day's: the first render of a quarterly report
archives it in the report's dated folder (data_dictionary.csv, lawn/reports/compliance.py) and
every later render of that day reads it back, so a re-render reproduces what the day's run
wrote."""

from __future__ import annotations

import pandas as pd

from lawn.catalog import META_KEYS

COUNT_COLUMNS = ["with_description", *[f"with_{key}" for key in META_KEYS], "with_own_meta"]


def layer(dictionary: pd.DataFrame) -> pd.Series:
    """A model's layer is its schema (staging, intermediate, marts, pii, ...); a source, seed
    or snapshot column is in the layer named by its resource type."""
    return dictionary["schema"].where(dictionary["resource_type"] == "model", dictionary["resource_type"])


def completeness(dictionary: pd.DataFrame) -> pd.DataFrame:
    """layer, relations, columns, with_description, with_<key> ..., with_own_meta (counts)."""
    frame = pd.DataFrame(
        {
            "layer": layer(dictionary),
            "relation": dictionary["resource_type"] + ":" + dictionary["model"],
            "with_description": dictionary["description"].fillna("").str.strip() != "",
            **{f"with_{key}": dictionary[key].fillna("").astype(str).str.strip() != "" for key in META_KEYS},
            "with_own_meta": dictionary["meta_from"].fillna("") == "own",
        }
    )
    if frame.empty:
        return pd.DataFrame(columns=["layer", "relations", "columns", *COUNT_COLUMNS])
    per_layer = frame.groupby("layer").agg(
        relations=("relation", "nunique"),
        columns=("relation", "size"),
        **{c: (c, "sum") for c in COUNT_COLUMNS},
    )
    total = pd.DataFrame(
        [
            {
                "relations": frame["relation"].nunique(),
                "columns": len(frame),
                **{c: int(frame[c].sum()) for c in COUNT_COLUMNS},
            }
        ],
        index=["all"],
    )
    out = pd.concat([per_layer, total]).rename_axis("layer").reset_index()
    return out.astype({c: int for c in out.columns if c != "layer"})


def shares(counts: pd.DataFrame) -> pd.DataFrame:
    """The counts as shares of the layer's columns."""
    out = counts[["layer", "relations", "columns"]].copy()
    for column in counts.columns:
        if column.startswith("with_"):
            out[column.replace("with_", "share_with_")] = counts[column] / counts["columns"].where(
                counts["columns"] > 0
            )
    return out
