"""The streamed generator's file writers: sorted Arrow tables appended to one CSV or Parquet
file so that the bytes equal what one pandas ``to_csv`` / ``to_parquet`` call on the whole
frame writes (``lawn.generator.stream``), holding about one row group at a time."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from lawn.contract import RAW_EVENT_COLUMNS


def write_csv(tables: Iterator[pa.Table], path: Path, batch_rows: int) -> None:
    """pandas ``to_csv`` on batches of sorted rows, appended: the same bytes as one ``to_csv``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame([], columns=list(RAW_EVENT_COLUMNS)).to_csv(path, index=False, lineterminator="\n")
    with path.open("a", newline="") as handle:
        for table in tables:
            for start in range(0, table.num_rows, batch_rows):
                frame = table.slice(start, batch_rows).to_pandas()
                frame.to_csv(handle, header=False, index=False, lineterminator="\n")
                del frame
            del table


def _pandas_schema() -> pa.Schema:
    """The schema (with pandas' metadata) ``frame.astype("string").to_parquet(index=False)`` writes."""
    frame = pd.DataFrame({name: pd.Series(["x"], dtype="string") for name in RAW_EVENT_COLUMNS})
    return pa.Table.from_pandas(frame, preserve_index=False).schema


def write_parquet(tables: Iterator[pa.Table], path: Path, row_group: int) -> None:
    """Row groups of exactly ``row_group`` rows, as one ``to_parquet`` call writes them.

    Each row group is handed to the writer with one contiguous array per column (what
    ``to_parquet`` hands it, so pages split the same way). Sorted rows wait in per-column lists
    of arrays until a row group is full; it is then assembled column by column, dropping the
    parts it used, so about one row group is held at a time, plus one bucket.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    schema = _pandas_schema()
    names = list(RAW_EVENT_COLUMNS)
    pending: dict[str, list[pa.Array]] = {name: [] for name in names}
    held = 0
    pool = pa.default_memory_pool()

    def flush(rows: int) -> None:
        arrays = []
        for name in names:
            parts, taken, rest = pending[name], [], []
            need = rows
            for part in parts:
                if need >= len(part):
                    taken.append(part)
                    need -= len(part)
                elif need > 0:
                    taken.append(part.slice(0, need))
                    rest.append(part.slice(need))
                    need = 0
                else:
                    rest.append(part)
            parts.clear()
            arrays.append(pa.concat_arrays(taken) if len(taken) != 1 else _contiguous(taken[0]))
            del taken
            pending[name] = rest
        group = pa.Table.from_arrays(arrays, schema=schema)
        del arrays
        writer.write_table(group, row_group_size=row_group)
        del group
        pool.release_unused()  # hand the row group's memory back (mimalloc keeps it otherwise)

    with pq.ParquetWriter(path, schema, compression="snappy") as writer:
        for table in tables:
            for name in names:
                pending[name].extend(table.column(name).chunks)
            held += table.num_rows
            del table
            while held >= row_group:
                flush(row_group)
                held -= row_group
        if held:
            flush(held)


def _contiguous(array: pa.Array) -> pa.Array:
    """``array`` with its own buffers (a slice keeps its parent's whole buffers alive)."""
    return pa.concat_arrays([array]) if array.offset else array
