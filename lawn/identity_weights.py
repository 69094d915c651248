"""Estimate the Fellegi-Sunter parameters of the identity matcher with splink.

The matcher itself runs in SQL inside `dbt build` (int_identity_match_scores) with the
m/u probabilities of seeds/identity/identity_match_weights.csv. This module re-estimates
them from the warehouse with splink: u by random sampling of pairs, m by expectation
maximisation over the pairs the SQL compares (same account, different deterministic
components). The comparison levels mirror the SQL model (same SQL, including the activity
overlap and shared-device comparisons computed from each user_id's active days and
devices), so the output drops into the seed (after review) without translation.
"""

from __future__ import annotations

import logging
from pathlib import Path

import duckdb
import pandas as pd

from lawn.settings import IDENTITY_MATCH_PRIOR
from lawn.settings import var as dbt_var

# var identity_concurrent_min_days of dbt_project.yml
CONCURRENT_MIN_DAYS: int = dbt_var("identity_concurrent_min_days")

# the restricted comparison mart (names and email local parts in clear: the levels need edit
# distances; the email domain and device keys are keyed hashes, compared by equality only)
PROFILES_SQL = """
with

profiles as (
    select * from pii.pii_user_match_profiles
),

locals as (
    select
        profiles.*,
        split_part(email_local_part, '+', 1) as local_part,
        replace(replace(translate(split_part(email_local_part, '+', 1), '_-', '..'), '..', '.'), '..', '.')
            as local_dotted
    from profiles
)

select
    locals.user_id as unique_id,
    locals.account_id,
    locals.deterministic_component,
    locals.first_seen_at,
    locals.first_name,
    locals.last_name,
    locals.full_name,
    locals.namesake_count as namesakes,
    locals.email_local_part,
    locals.local_part,
    locals.local_dotted,
    regexp_replace(locals.local_part, '[0-9]+$', '') as local_base,
    substr(locals.local_part, length(regexp_replace(locals.local_part, '[0-9]+$', '')) + 1) as local_digits,
    translate(regexp_replace(locals.local_part, '[0-9]+$', ''), '._-', '') as local_squeezed,
    regexp_replace(split_part(locals.local_dotted, '.', 1), '[0-9]+$', '') as first_token,
    regexp_replace(split_part(locals.local_dotted, '.', -1), '[0-9]+$', '') as last_token,
    locals.email_domain_key as email_domain,
    list_transform(string_split(locals.active_dates, '|'), lambda day: cast(day as date)) as active_dates,
    coalesce(string_split(locals.device_keys, '|'), []) as device_keys
from locals
order by locals.user_id
"""
# candidate pairs of the SQL matcher: same account, different deterministic components
BLOCKING_RULE = "l.account_id = r.account_id and l.deterministic_component != r.deterministic_component"


def _agrees(part: str) -> str:
    """The SQL of macros/identity/name_part_agrees.sql on the splink pair."""
    left, right = f"{part}_l", f"{part}_r"
    close = f"least(length({left}), length({right})) >= 5 and levenshtein({left}, {right}) <= 2"
    return f"({left} = {right} or ({close}))"


def _comparisons():
    """The comparison levels of int_identity_match_scores, in the same order and SQL."""
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    same_name = "first_name_l = first_name_r and last_name_l = last_name_r"
    missing = "first_name_l is null or first_name_r is null or last_name_l is null or last_name_r is null"
    name_variant = (
        "local_dotted_l != local_dotted_r and (local_squeezed_l = local_squeezed_r or ("
        "last_token_l = last_token_r and last_token_l != '' and (first_token_l = first_token_r"
        " or (length(first_token_l) = 1 and first_token_l = substr(first_token_r, 1, 1))"
        " or (length(first_token_r) = 1 and first_token_r = substr(first_token_l, 1, 1)))))"
    )
    shortest = "least(length(local_part_l), length(local_part_r))"
    typo = (
        f"levenshtein(local_part_l, local_part_r) <= case when {shortest} >= 5 then 2"
        f" when {shortest} >= 2 then 1 else 0 end"
    )
    older_after = (
        "case when first_seen_at_l < first_seen_at_r or (first_seen_at_l = first_seen_at_r"
        " and unique_id_l < unique_id_r)"
        " then len(list_filter(active_dates_l, lambda d: d > cast(first_seen_at_r as date)))"
        " else len(list_filter(active_dates_r, lambda d: d > cast(first_seen_at_l as date))) end"
    )
    return [
        cl.CustomComparison(
            output_column_name="full_name",
            comparison_levels=[
                cll.CustomLevel(missing, label_for_charts="missing"),
                cll.CustomLevel(f"{same_name} and namesakes_l > 2", label_for_charts="exact_shared"),
                cll.CustomLevel(same_name, label_for_charts="exact"),
                cll.CustomLevel(
                    f"{_agrees('first_name')} and {_agrees('last_name')}", label_for_charts="similar"
                ),
                cll.ElseLevel().configure(label_for_charts="different"),
            ],
        ),
        cl.CustomComparison(
            output_column_name="email_local_part",
            comparison_levels=[
                cll.CustomLevel(
                    "local_part_l = local_part_r and email_domain_l = email_domain_r",
                    label_for_charts="same_mailbox",
                ),
                cll.CustomLevel("local_part_l = local_part_r", label_for_charts="exact"),
                cll.CustomLevel(
                    "local_digits_l != local_digits_r and levenshtein(local_base_l, local_base_r) <= 2",
                    label_for_charts="numbered_variant",
                ),
                cll.CustomLevel(name_variant, label_for_charts="name_variant"),
                cll.CustomLevel(typo, label_for_charts="typo"),
                cll.ElseLevel().configure(label_for_charts="different"),
            ],
        ),
        cl.CustomComparison(
            output_column_name="email_domain",
            comparison_levels=[
                cll.NullLevel("email_domain"),
                cll.ExactMatchLevel("email_domain").configure(label_for_charts="same"),
                cll.ElseLevel().configure(label_for_charts="different"),
            ],
        ),
        cl.CustomComparison(
            output_column_name="activity",
            comparison_levels=[
                cll.CustomLevel(f"{older_after} = 0", label_for_charts="sequential"),
                cll.CustomLevel(f"{older_after} < {CONCURRENT_MIN_DAYS}", label_for_charts="brief_overlap"),
                cll.ElseLevel().configure(label_for_charts="concurrent"),
            ],
        ),
        cl.CustomComparison(
            output_column_name="device",
            comparison_levels=[
                cll.CustomLevel(
                    "len(list_intersect(device_keys_l, device_keys_r)) > 0", label_for_charts="shared"
                ),
                cll.ElseLevel().configure(label_for_charts="none"),
            ],
        ),
    ]


# the on-demand comparison mart (tag on_demand: no `dbt build` without a selection makes it)
MATCH_PROFILES = "pii_user_match_profiles"
# what it reads, made by `lawn build`
PROFILE_INPUTS = ("int_identity_user_profiles", "int_identity_observations", "int_identity_links")


class ProfilesBuildFailed(RuntimeError):
    """dbt could not build or test the comparison mart (a failed step, not bad input)."""


def build_match_profiles(db_path: Path) -> None:
    """Build and test ``pii.pii_user_match_profiles`` (a view) on ``db_path``: only this
    command reads it, so the nightly leaves it out (selectors.yml). The caller holds the
    writer lock. Raises ValueError when the warehouse lacks its inputs (bad input) and
    ProfilesBuildFailed when dbt fails; each one line."""
    from lawn.dbt_runner import failure_lines, run_dbt

    with duckdb.connect(str(db_path), read_only=True) as warehouse:
        present = {
            name
            for (name,) in warehouse.execute(
                "select table_name from information_schema.tables where table_schema = 'intermediate'"
            ).fetchall()
        }
    missing = [name for name in PROFILE_INPUTS if name not in present]
    if missing:
        raise ValueError(
            f"no {MATCH_PROFILES} inputs yet (intermediate.{missing[0]}): run `lawn build` first"
        )
    result = run_dbt(["build", "--select", MATCH_PROFILES], db_path)
    if result.returncode != 0:
        failures = [line.strip() for line in failure_lines(result.stdout)]
        said = " | ".join(failures[-3:] or ["see dbt's log"])
        raise ProfilesBuildFailed(f"building {MATCH_PROFILES} failed: {said}")


def estimate_match_weights(
    db_path: Path, prior: float = IDENTITY_MATCH_PRIOR, max_pairs: float = 1e6
) -> pd.DataFrame:
    """Return ``comparison, level, m_probability, u_probability`` estimated from ``db_path``.

    Levels EM could not estimate (no pair fell into them) come back as NaN: keep the
    documented prior for those.
    """
    from splink import Linker, SettingsCreator
    from splink.backends.duckdb import DuckDBAPI

    logging.getLogger("splink").setLevel(logging.WARNING)
    with duckdb.connect(str(db_path), read_only=True) as warehouse:
        present = warehouse.execute(
            "select count(*) from information_schema.tables "
            "where table_schema = 'pii' and table_name = 'pii_user_match_profiles'"
        ).fetchall()[0][0]
        if not present:
            raise ValueError("no pii.pii_user_match_profiles yet: run `lawn build` first")
        profiles = warehouse.execute(PROFILES_SQL).df()
    if len(profiles) < 2:
        raise ValueError(f"{db_path}: fewer than two user profiles to compare; build the project first")
    api = DuckDBAPI(connection=duckdb.connect())
    settings = SettingsCreator(
        link_type="dedupe_only",
        blocking_rules_to_generate_predictions=[BLOCKING_RULE],
        comparisons=_comparisons(),
        probability_two_random_records_match=prior,
    )
    linker = Linker(api.register(profiles), settings)
    linker.training.estimate_u_using_random_sampling(max_pairs=max_pairs)
    linker.training.estimate_parameters_using_expectation_maximisation(BLOCKING_RULE)
    model = linker.misc.save_model_to_json()
    rows = []
    for comparison in model["comparisons"]:
        for level in comparison["comparison_levels"]:
            if level.get("is_null_level"):
                continue
            rows.append(
                {
                    "comparison": comparison["output_column_name"],
                    "level": level["label_for_charts"],
                    "m_probability": level.get("m_probability"),
                    "u_probability": level.get("u_probability"),
                }
            )
    return pd.DataFrame(rows).astype({"m_probability": "float64", "u_probability": "float64"})
