"""Great Expectations checks on the raw files, run before dbt loads anything.

A broken file (missing column, unparseable timestamps, empty) stops the run with one line
naming the file and the problem. Row-level dirt (a bad event) is *not* a broken file: it is
loaded and quarantined by the staging models.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from lawn.contract import RAW_EVENT_COLUMNS

ISO_TIMESTAMP = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:?\d{2})?$"
ISO_DATE = r"^\d{4}-\d{2}-\d{2}$"


@dataclass(frozen=True)
class RawTableSpec:
    """What a raw file must look like to be loaded at all."""

    columns: tuple[str, ...]
    # column -> share of rows that must parse (client clocks may be partly broken: quarantine)
    timestamps: dict[str, float] = field(default_factory=dict)
    dates: tuple[str, ...] = ()
    not_null: tuple[str, ...] = ()
    unique: tuple[str, ...] = ()


RAW_TABLES: dict[str, RawTableSpec] = {
    "raw_events": RawTableSpec(
        columns=RAW_EVENT_COLUMNS,
        timestamps={"received_at": 1.0, "occurred_at": 0.9},
        not_null=("received_at",),
    ),
    "crm_accounts": RawTableSpec(
        columns=(
            "account_id",
            "account_name",
            "email_domain",
            "industry",
            "segment",
            "country",
            "created_at",
            "acquisition_channel",
            "sales_owner",
        ),
        timestamps={"created_at": 1.0},
        not_null=("account_id",),
        unique=("account_id",),
    ),
    "marketing_spend": RawTableSpec(
        columns=("spend_date", "channel", "spend_usd", "impressions", "clicks"),
        dates=("spend_date",),
        not_null=("spend_date", "channel", "spend_usd"),
    ),
    "experiment_registry": RawTableSpec(
        columns=(
            "experiment_id",
            "hypothesis",
            "randomization_unit",
            "primary_metric",
            "guardrail_metrics",
            "minimum_detectable_effect",
            "alpha",
            "power",
            "planned_sample_size_per_arm",
            "start_date",
            "end_date",
            "holdout_share",
            "owner",
            "registered_at",
        ),
        dates=("start_date", "end_date"),
        not_null=("experiment_id",),
        unique=("experiment_id",),
    ),
}


class RawFileError(Exception):
    """A raw file that must not be loaded; the message is one line naming file and problem."""


def _read(path: Path) -> pd.DataFrame:
    try:
        if path.suffix == ".parquet":
            return pd.read_parquet(path).astype("string")
        return pd.read_csv(path, dtype="string", keep_default_na=False, na_values=[""])
    except pd.errors.EmptyDataError:
        raise RawFileError(f"{path}: file is empty (not even a header row)") from None
    except Exception as exc:  # unreadable file: name it, keep the reason short
        raise RawFileError(f"{path}: cannot be read ({type(exc).__name__}: {exc})".splitlines()[0]) from None


def _suite(spec: RawTableSpec):
    import great_expectations as gx

    suite = gx.ExpectationSuite(name="raw")
    suite.add_expectation(gx.expectations.ExpectTableRowCountToBeBetween(min_value=1))
    for column in spec.columns:
        suite.add_expectation(gx.expectations.ExpectColumnToExist(column=column))
    for column, mostly in spec.timestamps.items():
        suite.add_expectation(
            gx.expectations.ExpectColumnValuesToMatchRegex(column=column, regex=ISO_TIMESTAMP, mostly=mostly)
        )
    for column in spec.dates:
        suite.add_expectation(gx.expectations.ExpectColumnValuesToMatchRegex(column=column, regex=ISO_DATE))
    for column in spec.not_null:
        suite.add_expectation(gx.expectations.ExpectColumnValuesToNotBeNull(column=column))
    for column in spec.unique:
        suite.add_expectation(gx.expectations.ExpectColumnValuesToBeUnique(column=column))
    return suite


def _describe(path: Path, frame: pd.DataFrame, failure) -> str:
    """Turn a failed expectation into one readable line naming the file (and a row)."""
    kind = failure.expectation_config.type
    kwargs = failure.expectation_config.kwargs
    column = kwargs.get("column")
    if kind == "expect_table_row_count_to_be_between":
        return f"{path}: file is empty (header only, no rows)"
    if kind == "expect_column_to_exist":
        return f"{path}: missing column '{column}' (found: {', '.join(frame.columns)})"
    if kind == "expect_column_values_to_match_regex":
        bad = frame[column].notna() & ~frame[column].fillna("").str.match(kwargs["regex"])
        first = int(bad.idxmax())
        what = "date" if kwargs["regex"] == ISO_DATE else "ISO 8601 timestamp"
        return (
            f"{path}: column '{column}' has {int(bad.sum())} value(s) that are not an {what}, "
            f"first at data row {first + 1}: {frame[column].iloc[first]!r}"
        )
    if kind == "expect_column_values_to_not_be_null":
        first = int(frame[column].isna().idxmax())
        empty = int(frame[column].isna().sum())
        return f"{path}: column '{column}' is empty in {empty} row(s), first at data row {first + 1}"
    if kind == "expect_column_values_to_be_unique":
        dupes = frame[column][frame[column].duplicated(keep=False)].dropna().unique()
        return f"{path}: column '{column}' has duplicate values, e.g. {dupes[0]!r}"
    return f"{path}: failed {kind} {kwargs}"


def validate_file(path: Path, spec: RawTableSpec) -> None:
    """Raise ``RawFileError`` with a one-line message if ``path`` must not be loaded."""
    import great_expectations as gx

    frame = _read(path)
    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = {"globally": False, "metric_calculations": False}
    asset = context.data_sources.add_pandas("raw").add_dataframe_asset(name=path.stem)
    batch = asset.add_batch_definition_whole_dataframe("whole").get_batch(
        batch_parameters={"dataframe": frame}
    )
    result = batch.validate(_suite(spec))
    if result.success:
        return
    failures = [r for r in result.results if not r.success]
    # a missing column makes the other checks on it meaningless: report it first
    failures.sort(key=lambda r: r.expectation_config.type != "expect_column_to_exist")
    raise RawFileError(_describe(path, frame, failures[0]))


def find_raw_files(raw_dir: Path) -> dict[str, Path]:
    """Map each expected raw table to its file in ``raw_dir`` (CSV or Parquet)."""
    found: dict[str, Path] = {}
    for name in RAW_TABLES:
        candidates = [raw_dir / f"{name}.{ext}" for ext in ("csv", "parquet")]
        existing = [path for path in candidates if path.exists()]
        if not existing:
            raise RawFileError(f"{raw_dir / (name + '.csv')}: file not found (nor {name}.parquet)")
        found[name] = existing[0]
    return found


def validate_raw_dir(raw_dir: Path) -> list[str]:
    """Validate every raw file; return one error line per broken file (empty when all pass)."""
    try:
        files = find_raw_files(raw_dir)
    except RawFileError as exc:
        return [str(exc)]
    errors = []
    for name, path in files.items():
        try:
            validate_file(path, RAW_TABLES[name])
        except RawFileError as exc:
            errors.append(str(exc))
    return errors
