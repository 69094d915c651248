"""Run the whole simulation and return the raw inputs and the planted truth as DataFrames."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from lawn.contract import RAW_EVENT_COLUMNS
from lawn.generator.action_effects import ACTION_EFFECT_TRUTH_COLUMNS, registry_row
from lawn.generator.activity import AccountSim
from lawn.generator.commercial import DAY
from lawn.generator.config import GeneratorConfig
from lawn.generator.dirt import plant_dirt
from lawn.generator.events import Event, EventLog
from lawn.generator.instrumentation import apply_instrumentation_breaks
from lawn.generator.programs import build_experiments, build_rollout, day_to_date, planned_sample_size
from lawn.generator.world import CHANNELS, Account, Device, build_world, plant_resignups, plant_shared_devices
from lawn.tracking_plan import load_tracking_plan

SPEND_CHANNELS = ("paid_search", "paid_social", "partner", "outbound")
DIRT_TRUTH_COLUMNS = ["event_id", "event_name", "dirt_kind", "expected_reason_code", "property_name"]


@dataclass
class GeneratedData:
    """Raw inputs (what a warehouse would hold) and truth (what really happened)."""

    raw: dict[str, pd.DataFrame]
    truth: dict[str, pd.DataFrame]


def _anonymous_visitors(config: GeneratorConfig, log: EventLog, rng: np.random.Generator) -> list[dict]:
    """Visitors who browse and never sign up: each is a person of their own in the truth."""
    truth = []
    for n in range(config.days * 2):
        device = Device(f"dev_v{n:06d}", "web", f"anon_v{n:06d}", "web-2026.03")
        day = int(rng.integers(0, config.days))
        for _ in range(int(rng.integers(1, 4))):
            log.anonymous(
                "page_viewed",
                day * DAY + float(rng.uniform(0, DAY - 60)),
                device,
                "en-US",
                -5,
                {
                    "page_path": str(rng.choice(["/", "/pricing", "/blog/late-payments"])),
                    "utm_source": str(rng.choice(CHANNELS)),
                },
            )
        truth += [
            {
                "identifier_type": "anonymous_id",
                "identifier_value": device.anonymous_id,
                "person_id": f"vis_{n:06d}",
            },
            {
                "identifier_type": "device_id",
                "identifier_value": device.device_id,
                "person_id": f"vis_{n:06d}",
            },
        ]
    return truth


# what json.dumps(value, separators=(",", ":")) returns, without building an encoder per call
_COMPACT_JSON = json.JSONEncoder(separators=(",", ":")).encode


def _serialise(log: EventLog, event: Event) -> dict:
    row = {
        "event_id": event.event_id,
        "event_name": event.event_name,
        "schema_version": str(event.schema_version),
        "source": event.source,
        "occurred_at": log.iso_occurred(event),
        "received_at": log.iso_received(event),
        "anonymous_id": event.anonymous_id,
        "device_id": event.device_id,
        "user_id": event.user_id,
        "account_id": event.account_id,
        "context": _COMPACT_JSON(event.context),
        "properties": _COMPACT_JSON(event.properties),
    }
    row.update(event.raw_overrides)
    return row


def _identity_truth(accounts: list[Account]) -> list[dict]:
    rows = []
    for account in accounts:
        for person in account.people:
            ids = [("user_id", person.user_id), ("email", person.email)]
            if person.resignup_user_id:
                ids += [("user_id", person.resignup_user_id), ("email", person.resignup_email)]
            ids += [
                (kind, value)
                for device in person.devices
                for kind, value in (("device_id", device.device_id), ("anonymous_id", device.anonymous_id))
            ]
            rows += [
                {"identifier_type": kind, "identifier_value": value, "person_id": person.person_id}
                for kind, value in ids
            ]
    return rows


@dataclass
class Simulation:
    """Everything the simulation keeps besides the events: the world and its ledgers."""

    accounts: list[Account]
    user_exp: object
    account_exp: object
    rollout: dict
    ledgers: list[dict]
    exposures: list[dict]
    visitor_truth: list[dict]


def simulate(
    config: GeneratorConfig,
    rng: np.random.Generator,
    log: EventLog,
    flush: Callable[[list[Event]], None] | None = None,
    flush_every: int = 200_000,
) -> Simulation:
    """Run every account and the anonymous visitors, appending their events to ``log``.

    With ``flush``, the log is drained into it whenever it holds ``flush_every`` events and at
    the end (the streaming generator); without, every event stays in ``log.events``.
    """
    accounts = build_world(config, rng)
    plant_shared_devices(accounts, config.dirt.shared_device_people, rng)
    plant_resignups(accounts, config.dirt.resignup_typo, rng)
    user_exp, account_exp = build_experiments(config)
    rollout = build_rollout(config, accounts, rng)
    ledgers, exposures = [], []
    for account in accounts:
        sim = AccountSim(
            account,
            log,
            rng,
            config.days,
            user_exp,
            account_exp,
            rollout.get(account.account_id),
            config.dirt.email_case_whitespace,
            config.breach,
            config.srm_lost_treatment_share,
            config.churn_warning,
            config.action_effects,
        )
        sim.run()
        ledgers += sim.commercial.sub.ledger
        exposures += sim.exposures
        if flush is not None and len(log.events) >= flush_every:
            flush(log.drain())
    visitor_truth = _anonymous_visitors(config, log, rng)
    if flush is not None:
        flush(log.drain())
    return Simulation(accounts, user_exp, account_exp, rollout, ledgers, exposures, visitor_truth)


def generate(config: GeneratorConfig) -> GeneratedData:
    """Simulate the company in memory; deterministic for a given ``config``.

    ``lawn.generator.stream.generate_to_files`` writes the same files with bounded memory.
    """
    rng = np.random.default_rng(config.seed)
    plan = load_tracking_plan()
    log = EventLog(config.seed, config.start_date)
    world = simulate(config, rng, log)
    horizon = config.days * DAY
    clean = [event for event in log.events if event.occurred_s < horizon]
    delivered, dirt = plant_dirt(clean, plan, config.dirt, rng)
    delivered, instrumentation_truth = apply_instrumentation_breaks(delivered, config)
    events = pd.DataFrame([_serialise(log, event) for event in delivered], columns=list(RAW_EVENT_COLUMNS))
    events = events.sort_values(["received_at", "event_id"], kind="stable").reset_index(drop=True)
    raw, truth = other_tables(config, world, rng)
    truth["dirt"] = pd.DataFrame(dirt, columns=DIRT_TRUTH_COLUMNS)
    if instrumentation_truth is not None:
        truth["instrumentation"] = instrumentation_truth
    if config.action_effects is not None:
        truth["action_effects"] = _action_effects_truth(config, world.exposures)
    return GeneratedData(raw={"raw_events": events, **raw}, truth=truth)


def other_tables(
    config: GeneratorConfig, world: Simulation, rng: np.random.Generator
) -> tuple[dict[str, pd.DataFrame], dict[str, pd.DataFrame]]:
    """The raw tables besides the events, and the truth up to the dirt ledger (in file order);
    draws the marketing spend from ``rng``, so call it after the dirt step."""
    accounts, user_exp, account_exp = world.accounts, world.user_exp, world.account_exp
    rollout, ledgers = world.rollout, world.ledgers
    raw = {
        "crm_accounts": _crm(config, accounts),
        "marketing_spend": _spend(config, rng),
        "experiment_registry": _registry(config, [user_exp, account_exp]),
    }
    if config.action_effects is not None:
        offer = registry_row(config.action_effects, config.days, config.start_date)
        raw["experiment_registry"] = pd.concat(
            [raw["experiment_registry"], pd.DataFrame([offer])], ignore_index=True
        )
    truth = {
        "identities": pd.DataFrame(_identity_truth(accounts) + world.visitor_truth),
        "persons": pd.DataFrame(
            [
                {
                    "person_id": p.person_id,
                    "account_id": p.account_id,
                    "user_id": p.user_id,
                    "email": p.email,
                    "first_name": p.first_name,
                    "last_name": p.last_name,
                    "role": p.role,
                    "signup_date": day_to_date(config, p.signup_day) if p.signup_day is not None else None,
                    "resignup_user_id": p.resignup_user_id,
                    "shares_a_device": any(len(d.owners) > 1 for d in p.devices),
                }
                for a in accounts
                for p in a.people
            ]
        ),
        "mrr_movements": pd.DataFrame(
            [{**row, "movement_date": day_to_date(config, row.pop("day"))} for row in ledgers]
        ),
        "experiments": pd.DataFrame(
            [
                {
                    "experiment_id": e.experiment_id,
                    "unit": e.unit,
                    "primary_metric": e.primary_metric,
                    "true_effect": e.true_effect,
                }
                for e in (user_exp, account_exp)
            ]
        ),
        "rollout": pd.DataFrame(
            [
                {
                    "account_id": r.account_id,
                    "adoption_date": day_to_date(config, r.adoption_day),
                    "cohort": r.cohort,
                    "true_lift": r.true_lift,
                }
                for r in rollout.values()
            ],
            columns=["account_id", "adoption_date", "cohort", "true_lift"],
        ),
        "breach": pd.DataFrame(
            [
                {
                    "platform": config.breach.platform,
                    "start_date": day_to_date(config, config.breach.start_day),
                    "activation_factor": config.breach.activation_factor,
                }
            ]
            if config.breach
            else [],
            columns=["platform", "start_date", "activation_factor"],
        ),
    }
    return raw, truth


def _action_effects_truth(config: GeneratorConfig, exposures: list[dict]) -> pd.DataFrame:
    rows = [
        {
            **{key: value for key, value in row.items() if key not in ("exposure_day", "renewal_day")},
            "exposure_date": day_to_date(config, row["exposure_day"]),
            "renewal_date": day_to_date(config, row["renewal_day"]),
        }
        for row in exposures
    ]
    return pd.DataFrame(rows, columns=ACTION_EFFECT_TRUTH_COLUMNS)


def _crm(config: GeneratorConfig, accounts: list[Account]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "account_id": a.account_id,
                "account_name": a.name,
                "email_domain": a.domain,
                "industry": a.industry,
                "segment": a.segment,
                "country": a.country,
                "created_at": f"{day_to_date(config, a.created_day).isoformat()}T09:00:00Z",
                "acquisition_channel": a.channel,
                "sales_owner": a.sales_owner,
            }
            for a in accounts
        ]
    )


def _spend(config: GeneratorConfig, rng: np.random.Generator) -> pd.DataFrame:
    rows = []
    for day in range(config.days):
        for channel in SPEND_CHANNELS:
            spend = round(float(rng.gamma(4, 30 * max(1, config.accounts / 60))), 2)
            impressions = int(spend * rng.uniform(40, 90))
            rows.append(
                {
                    "spend_date": day_to_date(config, day).isoformat(),
                    "channel": channel,
                    "spend_usd": spend,
                    "impressions": impressions,
                    "clicks": int(impressions * rng.uniform(0.01, 0.04)),
                }
            )
    return pd.DataFrame(rows)


def _registry(config: GeneratorConfig, experiments: list) -> pd.DataFrame:
    baselines = {"activated_7d": 0.45, "trial_converted": 0.45}
    return pd.DataFrame(
        [
            {
                "experiment_id": e.experiment_id,
                "hypothesis": e.hypothesis,
                "randomization_unit": e.unit,
                "primary_metric": e.primary_metric,
                "guardrail_metrics": e.guardrail_metrics,
                "minimum_detectable_effect": e.mde,
                "alpha": e.alpha,
                "power": e.power,
                "planned_sample_size_per_arm": planned_sample_size(e, baselines[e.primary_metric]),
                "start_date": day_to_date(config, e.start_day).isoformat(),
                "end_date": day_to_date(config, e.end_day).isoformat(),
                "holdout_share": e.holdout_share,
                "owner": e.owner,
                "registered_at": (
                    dt.datetime.combine(day_to_date(config, e.start_day), dt.time()) - dt.timedelta(days=3)
                ).strftime("%Y-%m-%dT%H:%M:%SZ"),
            }
            for e in experiments
        ]
    )
