"""Estimate the Fellegi-Sunter parameters of the identity matcher with splink.

The matcher itself runs in SQL inside `dbt build` (int_identity_match_scores) with the
m/u probabilities of seeds/identity/identity_match_weights.csv. This module re-estimates
them from the warehouse with splink: u by random sampling of pairs, m by expectation
maximisation over pairs of user_ids in the same account. The comparison levels mirror the
SQL model exactly, so the output drops into the seed (after review) without translation.
"""

from __future__ import annotations

import logging
from pathlib import Path

import duckdb
import pandas as pd

PROFILES_SQL = """
select
    user_id as unique_id,
    account_id,
    full_name,
    email_local_part,
    email_domain
from intermediate.int_identity_user_profiles
where email is not null
"""
SIMILARITY_THRESHOLD = 0.88


def _comparisons():
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    numbered = (
        "regexp_replace(email_local_part_l, '[0-9]+$', '')"
        " = regexp_replace(email_local_part_r, '[0-9]+$', '')"
    )
    return [
        cl.CustomComparison(
            output_column_name="full_name",
            comparison_levels=[
                cll.NullLevel("full_name"),
                cll.ExactMatchLevel("full_name").configure(label_for_charts="exact"),
                cll.JaroWinklerLevel("full_name", SIMILARITY_THRESHOLD).configure(label_for_charts="similar"),
                cll.ElseLevel().configure(label_for_charts="different"),
            ],
        ),
        cl.CustomComparison(
            output_column_name="email_local_part",
            comparison_levels=[
                cll.NullLevel("email_local_part"),
                cll.ExactMatchLevel("email_local_part").configure(label_for_charts="exact"),
                cll.CustomLevel(numbered, label_for_charts="numbered_variant"),
                cll.JaroWinklerLevel("email_local_part", SIMILARITY_THRESHOLD).configure(
                    label_for_charts="similar"
                ),
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
    ]


def estimate_match_weights(db_path: Path, prior: float = 0.01, max_pairs: float = 1e6) -> pd.DataFrame:
    """Return ``comparison, level, m_probability, u_probability`` estimated from ``db_path``.

    Levels EM could not estimate (no pair fell into them) come back as NaN: keep the
    documented prior for those.
    """
    from splink import Linker, SettingsCreator, block_on
    from splink.backends.duckdb import DuckDBAPI

    logging.getLogger("splink").setLevel(logging.WARNING)
    with duckdb.connect(str(db_path), read_only=True) as warehouse:
        profiles = warehouse.execute(PROFILES_SQL).df()
    if len(profiles) < 2:
        raise ValueError(f"{db_path}: fewer than two user profiles to compare; build the project first")
    api = DuckDBAPI(connection=duckdb.connect())
    settings = SettingsCreator(
        link_type="dedupe_only",
        blocking_rules_to_generate_predictions=[block_on("account_id")],
        comparisons=_comparisons(),
        probability_two_random_records_match=prior,
    )
    linker = Linker(api.register(profiles), settings)
    linker.training.estimate_u_using_random_sampling(max_pairs=max_pairs)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("account_id"))
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
