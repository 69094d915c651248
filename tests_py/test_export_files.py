"""The files an export hands over (lawn/action_files.py): one Parquet schema for every batch."""

from __future__ import annotations

import pandas as pd


def test_the_exported_parquet_has_one_schema_whatever_the_warehouse_and_the_batch(tmp_path):
    """pandas gave `decided_on` microseconds from DuckDB and milliseconds from PostgreSQL, and
    an empty batch or a night without scores the Parquet `null` type (a probe, 2026-12-07): a
    destination's reader saw the schema change from night to night. Every batch now has the
    export's one schema, and its values are the frame's."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from lawn.action_files import publish_files
    from lawn.actions import EXPORT_COLUMNS

    row = dict.fromkeys(EXPORT_COLUMNS, "x") | {
        "decided_on": pd.Timestamp("2026-01-01 10:00:00.123"), "reverted_at": None, "churn_probability": None
    }  # fmt: skip
    duckdb_like = pd.DataFrame([row]).astype({"decided_on": "datetime64[us]"})
    postgres_like = pd.DataFrame([row]).astype({"decided_on": "datetime64[ms]"})
    scored = duckdb_like.assign(churn_probability=0.25, reverted_at=pd.Timestamp("2026-01-02"))
    empty = pd.DataFrame({column: [] for column in EXPORT_COLUMNS})
    schemas = []
    for name, frame in (
        ("duckdb", duckdb_like),
        ("postgres", postgres_like),
        ("scored", scored),
        ("empty", empty),
    ):
        _, parquet = publish_files(frame, tmp_path / name)
        table = pq.read_table(parquet)
        schemas.append(table.schema.remove_metadata())
        assert table.num_rows == len(frame)
        if len(frame):
            read = table.to_pylist()[0]
            assert read["decided_on"] == pd.Timestamp("2026-01-01 10:00:00.123").to_pydatetime()
            assert read["action_id"] == "x"
            assert read["churn_probability"] == (0.25 if name == "scored" else None)
    assert all(schema == schemas[0] for schema in schemas)
    assert schemas[0].field("decided_on").type == pa.timestamp("us")
    assert schemas[0].field("churn_probability").type == pa.float64()
    assert schemas[0].field("bandit_arm").type == pa.string()
