"""Test helper: the account x week panel of create_invoice usage the generator's staggered
rollout acts on, built from raw events (valid JSON only) and the planted adoption dates."""

from __future__ import annotations

import json

import pandas as pd

from lawn.generator import GeneratorConfig
from lawn.generator.run import GeneratedData


def _props(text: object) -> dict:
    try:
        value = json.loads(text) if isinstance(text, str) else {}
    except json.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


def rollout_panel(data: GeneratedData, config: GeneratorConfig) -> pd.DataFrame:
    """account_id, week, avg_usage (mean usage_count of create_invoice uses), treated (0/1),
    adoption_week and true_lift; weeks where an account used no invoice are absent."""
    raw = data.raw["raw_events"].drop_duplicates("event_id")
    uses = raw[raw["event_name"] == "feature_used"].copy()
    props = uses["properties"].map(_props)
    uses = uses[props.map(lambda p: p.get("feature_name")) == "create_invoice"]
    uses["usage"] = pd.to_numeric(props[uses.index].map(lambda p: p.get("usage_count")), errors="coerce")
    uses["at"] = pd.to_datetime(uses["occurred_at"], utc=True, errors="coerce", format="ISO8601")
    uses = uses.dropna(subset=["at", "usage", "account_id"])
    start = pd.Timestamp(config.start_date, tz="UTC")
    uses["week"] = (uses["at"] - start).dt.days // 7
    uses = uses[(uses["week"] >= 0) & (uses["week"] < config.days // 7)]
    panel = uses.groupby(["account_id", "week"])["usage"].mean().rename("avg_usage").reset_index()
    truth = data.truth["rollout"].copy()
    truth["adoption_week"] = (
        pd.to_datetime(truth["adoption_date"]) - pd.Timestamp(config.start_date)
    ).dt.days // 7
    panel = panel.merge(truth[["account_id", "adoption_week", "true_lift"]], on="account_id", how="left")
    panel["treated"] = (panel["week"] >= panel["adoption_week"]).fillna(False).astype(int)
    return panel


def true_cohort_effects(panel: pd.DataFrame, config: GeneratorConfig) -> pd.Series:
    """Each adoption cohort's true average effect on avg_usage over its post weeks.

    A use counts 1 + Poisson(m) with m = 2 (1 + 0.002 day), times (1 + lift) once adopted,
    so the effect on the expected count in a week around day d is 2 (1 + 0.002 d) lift."""
    treated = panel[panel["treated"] == 1]
    mid_day = treated["week"] * 7 + 3
    effect = 2 * (1 + 0.002 * mid_day) * treated["true_lift"]
    return effect.groupby(treated["adoption_week"]).mean().rename(lambda w: int(w))
