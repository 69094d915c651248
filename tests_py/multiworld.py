"""Test scaffolding: many generator worlds stacked into one raw dataset, so that one dbt
build reads out every world's experiments (dbt's fixed cost paid once, not per seed).

Every identifier is prefixed with the world (`w<seed>_`), emails get a `w<seed>.` local
prefix (so identity never links people across worlds) and experiment ids a `__w<seed>`
suffix (so each world's experiments are read out separately)."""

from __future__ import annotations

import json
import re

import pandas as pd

from lawn.generator import GeneratorConfig, generate

ID_COLUMNS = ("event_id", "anonymous_id", "device_id", "user_id", "account_id")
ID_PROPERTIES = ("invited_by_user_id", "invoice_id", "ticket_id")
EMAIL_PROPERTIES = ("email", "invitee_email")


def _prefix_email(value: str, world: str) -> str:
    return re.sub(r"^(\s*)", lambda match: f"{match.group(1)}{world}.", value, count=1)


def _rewrite_properties(text: object, world: str) -> object:
    if not isinstance(text, str):
        return text
    try:
        props = json.loads(text)
    except json.JSONDecodeError:
        return text  # planted malformed JSON stays malformed
    if not isinstance(props, dict):
        return text
    for key in ID_PROPERTIES:
        if isinstance(props.get(key), str):
            props[key] = f"{world}_{props[key]}"
    for key in EMAIL_PROPERTIES:
        if isinstance(props.get(key), str):
            props[key] = _prefix_email(props[key], world)
    if isinstance(props.get("experiment_id"), str):
        props["experiment_id"] = f"{props['experiment_id']}__{world}"
    return json.dumps(props, separators=(",", ":"))


def stacked_worlds(configs: list[GeneratorConfig]) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """Raw tables of all worlds together, and the planted experiment effects per world."""
    raws: dict[str, list[pd.DataFrame]] = {}
    effects = []
    for config in configs:
        world = f"w{config.seed}"
        data = generate(config)
        events = data.raw["raw_events"].copy()
        for column in ID_COLUMNS:
            events[column] = events[column].map(
                lambda v, w=world: f"{w}_{v}" if isinstance(v, str) and v else v
            )
        events["properties"] = events["properties"].map(lambda t, w=world: _rewrite_properties(t, w))
        crm = data.raw["crm_accounts"].copy()
        crm["account_id"] = world + "_" + crm["account_id"]
        registry = data.raw["experiment_registry"].copy()
        registry["experiment_id"] = registry["experiment_id"] + "__" + world
        for name, frame in (
            ("raw_events", events),
            ("crm_accounts", crm),
            ("experiment_registry", registry),
            ("marketing_spend", data.raw["marketing_spend"]),
        ):
            raws.setdefault(name, []).append(frame)
        truth = data.truth["experiments"].copy()
        truth["world"] = world
        truth["experiment_id"] = truth["experiment_id"] + "__" + world
        effects.append(truth)
    raw = {name: pd.concat(frames, ignore_index=True) for name, frames in raws.items()}
    raw["raw_events"] = raw["raw_events"].sort_values(["received_at", "event_id"], kind="stable")
    return raw, pd.concat(effects, ignore_index=True)
