"""The business files (CRM, spend, registry) as spreadsheets and SaaS tools export them (a
probe, 2026-12-07). Numbers too large for the type staging reads them as are refused at the
gate ( a spend of `1e40` passed `lawn validate-raw`, landed, and failed the build's
not-null test after landing; JSON Lines impressions of `1e20` became a silent null). The
contract's `staged_as` says which type; this also checks it is the type the staging model
casts to, so the two cannot drift apart."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from lawn.cli import app
from lawn.contract import RAW_TABLES
from lawn.paths import REPO_ROOT

# how a staging model writes each type in its try_cast
RENDERED = {"bigint": "dbt.type_bigint()", "integer": "dbt.type_int()", "double": "type_double()"}
STAGING = {"marketing_spend": "marketing/stg_marketing__ad_spends.sql",
           "experiment_registry": "experimentation/stg_experimentation__experiments.sql"}  # fmt: skip


def test_staged_as_is_the_type_the_staging_model_casts_to():
    staged = [
        (table, column) for table in RAW_TABLES.values() for column in table.columns if column.staged_as
    ]
    assert {(t.name, c.name) for t, c in staged} >= {("marketing_spend", "spend_usd"),
                                                     ("marketing_spend", "impressions")}  # fmt: skip
    for table, column in staged:
        sql = (REPO_ROOT / "models" / "staging" / STAGING[table.name]).read_text()
        written = RENDERED.get(column.staged_as, f"'{column.staged_as}'")
        pattern = rf"try_cast\('{column.name}',\s*{re.escape(written)}\)"
        assert re.search(pattern, sql), (table.name, column.name, column.staged_as)


def _validate(folder):
    return CliRunner().invoke(app, ["validate-raw", "--raw-dir", str(folder)], env={"COLUMNS": "300"})


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("marketing_spend.csv", "spend_date,channel,spend_usd\n2026-01-05,search,10\n2026-01-06,x,1e40\n",
         "column 'spend_usd' has 1 value(s) too large for decimal(18, 6), first at data row 2: '1e40'"),
        ("marketing_spend.csv", "spend_date,channel,spend_usd\n2026-01-05,search,1e400\n",
         "column 'spend_usd' has 1 value(s) too large for decimal(18, 6)"),
        ("marketing_spend.jsonl",
         '{"spend_date":"2026-01-05","channel":"x","spend_usd":10,"impressions":100000000000000000000}\n',
         "column 'impressions' has 1 value(s) too large for bigint, first at data row 1"),
    ],
)  # fmt: skip
def test_a_number_too_large_for_staging_is_refused_naming_column_and_row(tmp_path, name, content, message):
    (tmp_path / "raw_events.csv").write_text(
        (REPO_ROOT / "tests_py/fixtures/probe_metrics/raw_events.csv").read_text()
    )
    (tmp_path / name).write_text(content)
    result = _validate(tmp_path)
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.output


def test_the_largest_values_staging_holds_pass(tmp_path):
    (tmp_path / "raw_events.csv").write_text(
        (REPO_ROOT / "tests_py/fixtures/probe_metrics/raw_events.csv").read_text()
    )
    (tmp_path / "marketing_spend.csv").write_text(
        "spend_date,channel,spend_usd,impressions,clicks\n"
        "2026-01-05,search,999999999999.999999,9223372036854775807,2147483647\n"
    )
    result = _validate(tmp_path)
    assert result.exit_code == 0, result.output


def test_a_typed_timestamp_in_a_date_column_is_its_day_only_at_midnight(tmp_path):
    """A Parquet date column written as timestamps (pandas `tz_localize('Europe/Berlin')` of
    dates): Berlin's midnight is 23:00 UTC the day before, and was landed as the day before
    (a probe, 2026-12-07: spend and experiment dates one day early, a unit dropped from a
    readout); a time of day was cut off. Now a typed midnight is its day (UTC for a zoned
    one, as typed timestamps are read), and any other time is refused as no date."""
    import datetime as dt
    from zoneinfo import ZoneInfo

    import pyarrow as pa
    import pyarrow.parquet as pq

    def spend(folder, values, arrow_type):
        folder.mkdir()
        (folder / "raw_events.csv").write_text(
            (REPO_ROOT / "tests_py/fixtures/probe_metrics/raw_events.csv").read_text()
        )
        table = pa.table(
            {"spend_date": pa.array(values, arrow_type), "channel": ["a", "b"], "spend_usd": ["1", "2"]}
        )
        pq.write_table(table, folder / "marketing_spend.parquet")
        return _validate(folder)

    berlin = ZoneInfo("Europe/Berlin")
    zoned = spend(
        tmp_path / "berlin",
        [dt.datetime(2026, 1, 5, tzinfo=berlin)] * 2,
        pa.timestamp("us", tz="Europe/Berlin"),
    )
    assert zoned.exit_code == 2
    assert (
        "'spend_date' has 2 value(s) that are not a date" in zoned.output
        and "2026-01-04T23:00:00" in zoned.output
    )
    timed = spend(
        tmp_path / "timed", [dt.datetime(2026, 1, 5), dt.datetime(2026, 3, 1, 10, 30)], pa.timestamp("ms")
    )
    assert timed.exit_code == 2 and "first at data row 2: '2026-03-01T10:30:00" in timed.output
    for name, values, arrow_type in (
        ("utc", [dt.datetime(2026, 1, 5, tzinfo=dt.UTC)] * 2, pa.timestamp("us", tz="UTC")),
        ("naive", [dt.datetime(2026, 1, 5), dt.datetime(2026, 1, 6)], pa.timestamp("ns")),
    ):
        assert spend(tmp_path / name, values, arrow_type).exit_code == 0, name


@pytest.mark.parametrize(
    ("content", "line", "first", "then"),
    [
        (b"spend_date,channel,spend_usd\n2026-01-05,a,10\n2026-01-06,a,20\r\n", 3, "LF", "CRLF"),
        (
            b"spend_date,channel,spend_usd\r\n2026-01-05,a,10\r\n2026-01-06,a,20\n2026-01-07,a,1\n",
            3,
            "CRLF",
            "LF",
        ),
    ],
)
def test_a_spend_file_mixing_line_ends_names_the_line(tmp_path, content, line, first, then):
    """Rows appended to an Excel export in an editor: DuckDB's "not RFC 4180 compliant" named
    no line; the error now names the first line ending otherwise than line 1."""
    (tmp_path / "raw_events.csv").write_text(
        (REPO_ROOT / "tests_py/fixtures/probe_metrics/raw_events.csv").read_text()
    )
    (tmp_path / "marketing_spend.csv").write_bytes(content)
    result = _validate(tmp_path)
    assert result.exit_code == 2, result.output
    [text] = result.output.strip().splitlines()
    assert text.endswith(
        f"marketing_spend.csv: line {line}: the file mixes Windows (CRLF) and Unix (LF) line ends "
        f"(line 1 ends in {first}, line {line} in {then}): save the file with one kind of line end"
    ), text


def test_validate_raw_lists_the_ignored_columns(tmp_path):
    """The contract says columns beyond it are "ignored and listed": `lawn load` listed them,
    `lawn validate-raw` did not (a probe, 2026-12-07)."""
    (tmp_path / "raw_events.csv").write_text(
        (REPO_ROOT / "tests_py/fixtures/probe_metrics/raw_events.csv").read_text()
    )
    (tmp_path / "marketing_spend.csv").write_text(
        "spend_date,channel,spend_usd,campaign_name\n2026-01-05,a,10,x\n"
    )
    result = _validate(tmp_path)
    assert result.exit_code == 0, result.output
    assert "raw.marketing_spend: ignored columns: campaign_name" in result.output
