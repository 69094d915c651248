"""An id typed as a number lands as the same text whatever the file's format and type, so one
user stays one person: a whole float or decimal is its integer (`1e16` from JSON Lines,
`10000000000000000.0` from a float64 Parquet column and `9007199254740993.000000000` from a
BigQuery NUMERIC all were other texts than the int64's, three persons for one id: a probe,
2026-12-07); a JSON integer beyond 64 bits keeps its digits; a float NaN is the null marker
`nan` (a NaN beside whole numbers refused the whole file with a cast error). The expected texts
are Python's own reading of the same values (int() of a whole float, the decimal's digits)."""

from __future__ import annotations

import decimal
import json
import math
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from typer.testing import CliRunner

from lawn.cli import app
from lawn.raw_loader import land_raw_dir
from lawn.segment import envelope_row

BASE = {
    "event_name": "page_viewed", "schema_version": 1, "source": "web",
    "occurred_at": "2026-03-05T10:00:00Z", "received_at": "2026-03-05T10:00:05Z",
    "anonymous_id": "x", "properties": '{"page_path":"/"}',
}  # fmt: skip
FLOATS = [1e16, 42.0, 1.2345678901234568e18, 4.5, float("nan")]
DECIMALS = [decimal.Decimal("9007199254740993.000000000"), decimal.Decimal("42.500000000")]
JSON_NUMBERS = ["1e+16", "10000000000000000", "12345678901234567890123", "42.0", "1.2345678901234568e18"]


def _python_text(value: object) -> str:
    """The text an id should land as, restated in Python."""
    if isinstance(value, float):
        return "nan" if math.isnan(value) else str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, decimal.Decimal):
        return str(int(value)) if value == value.to_integral_value() else str(value)
    return str(value)


def _table(prefix: str, ids: pa.Array) -> pa.Table:
    columns = {key: [value] * len(ids) for key, value in BASE.items()}
    columns["event_id"] = [f"{prefix}{i}" for i in range(len(ids))]
    columns["user_id"] = ids
    return pa.table(columns)


def _world(raw: Path) -> dict[str, str]:
    """Writes the files; the expected text of each event's user_id."""
    (raw / "raw_events").mkdir(parents=True)
    pq.write_table(_table("i", pa.array([10**16, 42], pa.int64())), raw / "raw_events" / "p0.parquet")
    pq.write_table(_table("f", pa.array(FLOATS, pa.float64())), raw / "raw_events" / "p1.parquet")
    pq.write_table(_table("d", pa.array(DECIMALS, pa.decimal128(38, 9))), raw / "raw_events" / "p2.parquet")
    with open(raw / "raw_events" / "p3.jsonl", "w") as handle:
        for i, number in enumerate(JSON_NUMBERS):
            handle.write(json.dumps({**BASE, "event_id": f"j{i}"})[:-1] + f', "user_id": {number}}}\n')
    expected = {"i0": str(10**16), "i1": "42"}
    expected |= {f"f{i}": _python_text(v) for i, v in enumerate(FLOATS)}
    expected |= {f"d{i}": _python_text(v) for i, v in enumerate(DECIMALS)}
    # json.loads reads a JSON integer as an exact int, a number with a fraction or an exponent as a float
    expected |= {f"j{i}": _python_text(json.loads(n)) for i, n in enumerate(JSON_NUMBERS)}
    return expected


def test_a_numeric_id_lands_as_one_text_in_every_format(tmp_path):
    raw = tmp_path / "raw"
    expected = _world(raw)
    assert expected["f0"] == expected["i0"] == expected["j0"] == expected["j1"] == "10000000000000000"
    assert expected["d0"] == "9007199254740993" and expected["j2"] == "12345678901234567890123"
    assert expected["f4"] == "nan" and expected["f3"] == "4.5" and expected["d1"] == "42.500000000"
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        report = land_raw_dir(raw, con)
        assert report.ok, report.errors
        landed = dict(con.execute("select event_id, user_id from raw.raw_events").fetchall())
    assert landed == expected


def test_a_nan_beside_whole_float_ids_is_a_missing_id_not_a_refused_file(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    pq.write_table(_table("n", pa.array([42.0, float("nan")], pa.float64())), raw / "raw_events.parquet")
    result = CliRunner().invoke(app, ["validate-raw", "--raw-dir", str(raw)])
    assert result.exit_code == 0 and "Traceback" not in result.output, result.output


def test_the_segment_converter_writes_the_same_text():
    base = {"type": "track", "event": "Logged In", "messageId": "m", "timestamp": "2026-03-05T10:00:00Z"}
    for number in JSON_NUMBERS:
        value = json.loads(number)
        assert envelope_row({**base, "userId": value})["user_id"] == _python_text(value)


def _strict(text: str) -> object:
    def refuse(token: str) -> None:
        raise ValueError(f"{token} is no JSON")

    return json.loads(text, parse_constant=refuse)


def test_a_struct_with_nan_or_infinity_lands_as_json_with_null(tmp_path):
    """pyarrow, polars and Spark keep a NaN in a struct; DuckDB's to_json wrote `NaN`, which is
    no JSON, and the event was quarantined as malformed (a probe, 2026-12-07). It lands as
    JavaScript's JSON.stringify writes it: null. A string holding ':NaN,' is kept."""
    raw = tmp_path / "raw"
    raw.mkdir()
    kind = pa.struct([("page_path", pa.string()), ("x", pa.float64()), ("xs", pa.list_(pa.float64()))])
    values = [
        {"page_path": "/a", "x": float("nan"), "xs": [float("inf"), 1.5, float("-inf"), float("nan")]},
        {"page_path": "/b:NaN,", "x": 2.0, "xs": []},
    ]
    table = _table("s", pa.array(["u1", "u2"])).set_column(
        list(BASE).index("properties"), "properties", pa.array(values, kind)
    )
    pq.write_table(table, raw / "raw_events.parquet")
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        assert land_raw_dir(raw, con).ok
        landed = dict(con.execute("select event_id, properties from raw.raw_events").fetchall())
    assert _strict(landed["s0"]) == {"page_path": "/a", "x": None, "xs": [None, 1.5, None, None]}
    assert _strict(landed["s1"]) == {"page_path": "/b:NaN,", "x": 2.0, "xs": []}
