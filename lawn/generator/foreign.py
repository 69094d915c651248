"""A "foreign" feed: the same simulated company, sent with other habits than ours.

Real feeds differ from lawn's generator in ways the contract allows. `lawn generate
--habits foreign` rewrites a generated world the way another company's systems would send
it, without changing what happened (the truth files stay valid):

- the billing system sends a trial as a `plan_changed` to the $0 `trial` plan (MRR history
  must still start at the first payment);
- emails arrive with tabs and line breaks around them and in odd case (the plan's pattern
  accepts them);
- colleagues at one company share a full name and have look-alike mailboxes (`zoe.haddad`,
  `z.haddad`, `zoe.m.haddad`): two people, never one;
- SDKs and spreadsheets send junk for a missing id (`nan`, `N/A`, `undefined`, `null`, ...);
- the raw files are typed Parquet (see `writers.write_generated(..., "parquet-typed")`) and
  the optional tables (marketing spend, experiment registry) are not sent.

What was planted is recorded in the truth table `habits`.
"""

from __future__ import annotations

import json
import uuid

import numpy as np
import pandas as pd

from lawn.generator.run import GeneratedData

JUNK_IDS = ("nan", "NaN", "N/A", "n/a", "undefined", "null", "None", "-", "0", "unknown", "(null)")
WHITESPACE = ("\t{}", "{}\t", " \t{} ", "{}\r\n", "\t{}\t")
OPTIONAL_TABLES = ("marketing_spend", "experiment_registry")


def _uuid(rng: np.random.Generator) -> str:
    return str(uuid.UUID(bytes=rng.bytes(16), version=4))


def _trials_as_zero_plans(events: pd.DataFrame, rng: np.random.Generator) -> tuple[pd.DataFrame, list[dict]]:
    trials = events[events["event_name"] == "trial_started"]
    added, planted = [], []
    for row in trials.to_dict("records"):
        change = dict(row)
        change["event_id"] = _uuid(rng)
        change["event_name"] = "plan_changed"
        change["schema_version"] = "2"
        change["properties"] = json.dumps(
            {"from_plan": "none", "to_plan": "trial", "mrr_usd": 0, "seats": 1, "billing_period": "monthly"}
        )
        added.append(change)
        planted.append(
            {"habit": "trial_as_zero_plan", "account_id": row["account_id"], "value": change["event_id"]}
        )
    return pd.concat([events, pd.DataFrame(added, columns=events.columns)], ignore_index=True), planted


def _email_variant(local: str, taken: set[str], domain: str, rng: np.random.Generator) -> str | None:
    first, _, last = local.partition(".")
    if not last:
        return None
    candidates = [
        f"{first[0]}.{last}",
        f"{first}.{chr(97 + int(rng.integers(0, 26)))}.{last}",
        f"{first[0]}{last}",
    ]
    for candidate in rng.permutation(candidates):
        if f"{candidate}@{domain}" not in taken:
            return str(candidate)
    return None


def _same_name_colleagues(
    events: pd.DataFrame,
    persons: pd.DataFrame,
    identities: pd.DataFrame,
    rng: np.random.Generator,
    share: float,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, list[dict]]:
    """Give a second person of some accounts the first one's full name and a look-alike mailbox."""
    persons = persons.copy()
    taken = set(persons["email"].dropna())
    renamed: dict[str, str] = {}
    planted = []
    for _account, group in persons.dropna(subset=["email"]).groupby("account_id", sort=True):
        if len(group) < 2 or rng.random() >= share:
            continue
        # a person with a planted re-signup keeps their name: renaming only the first user_id
        # would make the truth claim that two differently named mailboxes are one person
        others = group.iloc[1:]
        if "resignup_user_id" in others:
            others = others[others["resignup_user_id"].isna()]
        if others.empty:
            continue
        first, second = group.iloc[0], others.iloc[0]
        local, _, domain = str(first["email"]).partition("@")
        variant = _email_variant(local, taken, domain, rng)
        if variant is None:
            continue
        new_email = f"{variant}@{domain}"
        taken.add(new_email)
        renamed[str(second["email"])] = new_email
        index = second.name
        persons.loc[index, ["first_name", "last_name", "email"]] = [
            first["first_name"],
            first["last_name"],
            new_email,
        ]
        planted.append(
            {"habit": "same_name_colleague", "account_id": first["account_id"], "value": new_email}
        )
    if renamed:
        properties = events["properties"].astype(object)
        mask = events["event_name"].isin(["signed_up", "identified", "teammate_invited"]) & properties.notna()
        names = persons.set_index("user_id")[["first_name", "last_name"]]

        def rewrite(row: pd.Series) -> str:
            text = row["properties"]
            for old, new in renamed.items():
                text = text.replace(f'"{old}"', f'"{new}"')
            if row["event_name"] == "identified" and row["user_id"] in names.index:
                try:
                    payload = json.loads(text)
                except ValueError:
                    return text
                if "first_name" in payload:
                    first, last = names.loc[row["user_id"]]
                    payload["first_name"], payload["last_name"] = str(first).title(), str(last).title()
                    return json.dumps(payload)
            return text

        events = events.copy()
        events.loc[mask, "properties"] = events[mask].apply(rewrite, axis=1)
        identities = identities.copy()
        identities["identifier_value"] = identities["identifier_value"].replace(renamed)
    return events, persons, identities, planted


def _odd_whitespace_emails(
    events: pd.DataFrame, rng: np.random.Generator, share: float
) -> tuple[pd.DataFrame, list]:
    events = events.copy()
    mask = events["event_name"].isin(["signed_up", "identified"]) & events["properties"].notna()
    planted = []
    for index in events.index[mask]:
        if rng.random() >= share:
            continue
        try:
            payload = json.loads(events.at[index, "properties"])
        except ValueError:
            continue
        if not isinstance(payload, dict) or not isinstance(payload.get("email"), str):
            continue
        email = payload["email"].strip()
        shape = WHITESPACE[int(rng.integers(0, len(WHITESPACE)))]
        email = email.upper() if rng.random() < 0.3 else email
        payload["email"] = shape.format(email)
        events.at[index, "properties"] = json.dumps(payload)
        planted.append(
            {"habit": "odd_whitespace_email", "account_id": events.at[index, "account_id"], "value": email}
        )
    return events, planted


def _junk_identifiers(
    events: pd.DataFrame, rng: np.random.Generator, share: float
) -> tuple[pd.DataFrame, list]:
    events = events.copy()
    planted = []
    for column in ("anonymous_id", "device_id"):
        candidates = events.index[events[column].notna() & events["user_id"].notna()]
        chosen = candidates[rng.random(len(candidates)) < share]
        junk = rng.choice(JUNK_IDS, size=len(chosen))
        events.loc[chosen, column] = junk
        planted += [{"habit": f"junk_{column}", "account_id": events.at[i, "account_id"], "value": v}
                    for i, v in zip(chosen, junk, strict=True)]  # fmt: skip
    return events, planted


def apply_foreign_habits(
    data: GeneratedData,
    seed: int,
    colleague_share: float = 0.4,
    whitespace_share: float = 0.15,
    junk_share: float = 0.02,
) -> GeneratedData:
    """The same world sent with another company's habits (see the module docstring)."""
    rng = np.random.default_rng([seed, 20261129])
    events = data.raw["raw_events"].astype(object).where(data.raw["raw_events"].notna(), None)
    events, trials = _trials_as_zero_plans(events, rng)
    events, persons, identities, colleagues = _same_name_colleagues(
        events, data.truth["persons"], data.truth["identities"], rng, colleague_share
    )
    events, emails = _odd_whitespace_emails(events, rng, whitespace_share)
    events, junk = _junk_identifiers(events, rng, junk_share)
    events = events.sort_values("received_at", kind="stable").reset_index(drop=True).astype("string")
    raw = {name: frame for name, frame in data.raw.items() if name not in OPTIONAL_TABLES}
    raw["raw_events"] = events
    truth = dict(data.truth)
    truth["persons"], truth["identities"] = persons, identities
    truth["habits"] = pd.DataFrame(
        trials + colleagues + emails + junk, columns=["habit", "account_id", "value"]
    )
    return GeneratedData(raw=raw, truth=truth)
