"""Scoring with the churn-risk model (lawn/churn_model.py trains it): the live version's scores,
a shadow candidate's beside them, and each score's per-feature contributions, written to
``ml.churn_scores`` and ``ml.churn_score_contributions`` a batch of whole feature days at a time."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd

from lawn.churn_model import (
    CONTRIBUTION_COLUMNS,
    ModelError,
    contributions,
    live_version,
    load_artefact,
    load_dataset,
    predict,
)
from lawn.warehouse import MissingTableError, require_landing_table
from lawn.warehouse_io import connect


def score(
    db_path: Path,
    store: Path,
    shadow: str | None = None,
    feature_date: dt.date | None = None,
    since_training: bool = False,
) -> pd.DataFrame:
    """Score with the live model (and, with ``shadow``, a candidate that drives nothing) and
    replace those versions' rows for the scored days in ml.churn_scores. Scores the newest
    feature day, or ``feature_date``, or with ``since_training`` every day after each version's
    training window (what the nightly run does: the scores are then a function of the data
    and the model alone, and monitoring has scored days with known outcomes at once)."""
    data = load_dataset(db_path)
    if data.empty:
        raise ModelError("no paying account-days in marts.fct_churn_training_examples to score")
    latest = feature_date or max(data["feature_date"])
    first_day, last_day = min(data["feature_date"]), max(data["feature_date"])
    if not since_training and not (data["feature_date"] == latest).any():
        raise ModelError(f"no paying account-days on {latest}: the features cover {first_day} to {last_day}")
    batches = []
    live = live_version(store)
    if shadow is not None and shadow == live:
        # its scores would be written twice (shadow and live) and fail the next build's keys
        raise ModelError(f"--shadow {shadow} is the live version: it already drives the scores")
    for version, is_shadow in [(live, False)] + ([(shadow, True)] if shadow else []):
        artefact = load_artefact(store, version)
        if since_training:
            first = dt.date.fromisoformat(artefact["training_window"][1]) + dt.timedelta(days=1)
            days = data[(data["feature_date"] >= first) & (data["feature_date"] <= latest)]
            if days.empty and not is_shadow:  # it failed in numpy ("zero-size array")
                raise ModelError(
                    f"no feature day after {version}'s training window (to {first - dt.timedelta(days=1)}) "
                    f"up to {latest}: nothing to score"
                )
        else:
            days = data[data["feature_date"] == latest]
        batches.extend(
            (version, is_shadow, artefact["spec"], chunk) for chunk in day_chunks(days) if len(chunk)
        )
    scored_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    scores = []
    with connect(db_path) as con:
        try:
            require_landing_table(con, "ml", "churn_scores")
            require_landing_table(con, "ml", "churn_score_contributions")
        except MissingTableError as exc:
            raise ModelError(str(exc)) from exc
        if shadow:
            # a shadow run of an earlier live version leaves the days it alone drove, and this
            # run's live version does not score, as they are: it made them shadow rows, and the
            # actions decided on them lost their score (a probe: 20 churn actions became 15)
            drove = con.query(
                "select feature_date from ml.churn_scores group by feature_date having "
                "sum(case when model_version = ? and not is_shadow then 1 else 0 end) > 0 and "
                "sum(case when model_version <> ? and not is_shadow then 1 else 0 end) = 0",
                [shadow, shadow],
            )
            live_days = {
                day for _, is_shadow, _, chunk in batches if not is_shadow for day in chunk["feature_date"]
            }
            driven = set(pd.to_datetime(drove["feature_date"]).dt.date) - live_days if len(drove) else set()
            batches = [
                (version, is_shadow, spec, chunk[~chunk["feature_date"].isin(driven)] if is_shadow else chunk)
                for version, is_shadow, spec, chunk in batches
            ]
        pairs = pd.DataFrame(
            [(version, day) for version, _, _, chunk in batches for day in chunk["feature_date"].unique()],
            columns=["model_version", "feature_date"],
        ).drop_duplicates()
        # the (version, day) pairs replaced: a small relation both engines join on
        con.stage("new_scores", pairs)
        with con.transaction():
            for table in ("churn_scores", "churn_score_contributions"):
                con.execute(
                    f"delete from ml.{table} where exists (select 1 from new_scores "
                    f"where new_scores.model_version = {table}.model_version "
                    f"and new_scores.feature_date = {table}.feature_date)"
                )
            # a batch of days at a time: scoring every day since training at once held all
            # contributions (14 rows per score) in pandas; the nightly peaked at 6 GB at 10M
            for version, is_shadow, spec, chunk in batches:
                if chunk.empty:  # nothing to score (statsmodels' design fails on no rows)
                    continue
                batch = _scores(chunk, spec, version, is_shadow, scored_at)
                con.write_frame("ml.churn_scores", batch)
                con.write_frame("ml.churn_score_contributions", _explained(chunk, spec, version))
                scores.append(batch)
    if not scores:
        return pd.DataFrame(columns=["account_id", "feature_date", "model_version", "is_shadow",
                                     "churn_probability", "scored_at"])  # fmt: skip
    return pd.concat(scores, ignore_index=True)


# account-days scored and written at a time (whole feature days; one day is never split): a
# batch's contributions frame is 14 rows per account-day, ~150 bytes a row in pandas
SCORE_BATCH_ROWS = 25_000


def day_chunks(frame: pd.DataFrame, limit: int | None = None) -> list[pd.DataFrame]:
    """``frame`` cut into runs of whole feature days of at most ``limit`` (SCORE_BATCH_ROWS)
    rows each (a day with more rows than that is a batch of its own); an empty frame gives one
    empty batch."""
    limit = limit or SCORE_BATCH_ROWS
    if frame.empty:
        return [frame]
    sizes = frame.groupby("feature_date", sort=True).size()
    chunks, current, rows = [], [], 0
    for day, size in sizes.items():
        if current and rows + size > limit:
            chunks.append(current)
            current, rows = [], 0
        current.append(day)
        rows += int(size)
    chunks.append(current)
    return [frame[frame["feature_date"].isin(days)] for days in chunks]


def _scores(days: pd.DataFrame, spec: dict, version: str, is_shadow: bool, scored_at) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "account_id": days["account_id"].to_numpy(),
            "feature_date": days["feature_date"].to_numpy(),
            "model_version": version,
            "is_shadow": is_shadow,
            "churn_probability": predict(days, spec),
            "scored_at": scored_at,
        }
    )


def _explained(days: pd.DataFrame, spec: dict, version: str) -> pd.DataFrame:
    parts = contributions(days, spec)
    return parts.assign(
        account_id=days["account_id"].to_numpy()[parts["row"]],
        feature_date=days["feature_date"].to_numpy()[parts["row"]],
        model_version=version,
    )[CONTRIBUTION_COLUMNS]
