"""Write a generator run to files with bounded memory: the same bytes as ``generate`` followed by
``write_generated``, at any size.

The in-memory path holds every event as a Python object and every row in a DataFrame (5M events
took 12.9 GB). Here events only pass through:

1. the simulation runs account by account with the one shared random stream, and its events are
   spilled to disk in batches (pickled, in the order they were appended);
2. the dirt step's draws depend on the number of events only, so they are made up front
   (``draw_dirt_plan``: a few bytes per event) in exactly the order ``plant_dirt`` makes them;
3. each batch is read back, its dirt and instrumentation breaks applied, and serialised to a
   Parquet chunk with its position in the delivered list; redeliveries (duplicates) follow the
   originals, as in memory;
4. DuckDB sorts the chunks by (received_at, event_id, position), which is what the in-memory
   stable sort gives, spilling to disk within a memory limit, and the sorted rows are written
   out batch by batch as CSV or Parquet row groups.

Typed Parquet (``parquet-typed``) is not streamed: whether a column is typed depends on every
one of its values, so the caller falls back to the in-memory path for it.
"""

from __future__ import annotations

import dataclasses
import gc
import marshal
import operator
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from lawn.contract import RAW_EVENT_COLUMNS
from lawn.generator.commercial import DAY
from lawn.generator.config import GeneratorConfig
from lawn.generator.dirt import apply_dirt, draw_dirt_plan, redeliver
from lawn.generator.events import Event, EventLog
from lawn.generator.instrumentation import InstrumentationBreaks
from lawn.generator.run import (
    DIRT_TRUTH_COLUMNS,
    _action_effects_truth,
    _serialise,
    other_tables,
    simulate,
)
from lawn.generator.writers import _write
from lawn.tracking_plan import load_tracking_plan

STREAMED_FORMATS = ("csv", "parquet")
PARQUET_ROW_GROUP = 1024 * 1024  # pyarrow's default row group: what DataFrame.to_parquet writes
POSITION = "_position"
EVENT_FIELDS = tuple(field.name for field in dataclasses.fields(Event))
_EVENT_VALUES = operator.attrgetter(*EVENT_FIELDS)  # one event's fields as a tuple, in order


@dataclass
class StreamedRun:
    """What a streamed run wrote."""

    paths: list[Path]
    events: int


class _Spill:
    """Lists of events written to numbered files as tuples of plain values (``marshal``; about as
    fast as pickle here, and it cannot smuggle in objects), read back as events in order."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.files: list[Path] = []
        self.count = 0

    def write(self, events: list[Event]) -> None:
        if not events:
            return
        path = self.folder / f"{len(self.files):06d}.marshal"
        with path.open("wb") as handle:
            marshal.dump([_EVENT_VALUES(event) for event in events], handle)
        self.files.append(path)
        self.count += len(events)

    def read(self) -> Iterator[list[Event]]:
        for path in self.files:
            gc.disable()  # loading builds many containers, none cyclic: skip the collector's passes
            try:
                with path.open("rb") as handle:
                    events = [Event(*values) for values in marshal.load(handle)]
            finally:
                gc.enable()
            path.unlink()
            yield events


class _ChunkWriter:
    """Serialised deliveries, with their position, as Parquet chunks for the external sort."""

    def __init__(self, folder: Path, log: EventLog) -> None:
        self.folder, self.log = folder, log
        folder.mkdir(parents=True, exist_ok=True)
        self.chunks = 0
        self.rows = 0

    def write(self, events: list[Event], first_position: int) -> None:
        if not events:
            return
        rows = [_serialise(self.log, event) for event in events]
        columns = {name: [row[name] for row in rows] for name in RAW_EVENT_COLUMNS}
        columns[POSITION] = list(range(first_position, first_position + len(events)))
        schema = pa.schema([(name, pa.string()) for name in RAW_EVENT_COLUMNS] + [(POSITION, pa.int64())])
        pq.write_table(pa.table(columns, schema=schema), self.folder / f"{self.chunks:06d}.parquet")
        self.chunks += 1
        self.rows += len(events)


class _LedgerWriter:
    """The dirt ledger, appended to a CSV as it grows (the same bytes as one DataFrame.to_csv)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        pd.DataFrame([], columns=DIRT_TRUTH_COLUMNS).to_csv(path, index=False, lineterminator="\n")

    def append(self, rows: list[dict]) -> None:
        if rows:
            frame = pd.DataFrame(rows, columns=DIRT_TRUTH_COLUMNS)
            frame.to_csv(self.path, mode="a", header=False, index=False, lineterminator="\n")


def _sort(chunks: Path, target: Path, work: Path, memory_limit: str) -> None:
    """Sort every chunk by (received_at, event_id, position) into one Parquet file, in DuckDB
    with a memory limit (it spills to ``work``). Strings compare byte by byte, as Python's do."""
    con = duckdb.connect()
    try:
        con.execute(f"SET memory_limit = '{memory_limit}'")
        con.execute(f"SET temp_directory = '{work / 'duckdb_tmp'}'")
        con.execute("SET preserve_insertion_order = true")
        columns = ", ".join(f'"{name}"' for name in RAW_EVENT_COLUMNS)
        con.execute(
            f"COPY (SELECT {columns} FROM read_parquet('{chunks}/*.parquet') "
            f'ORDER BY received_at, event_id, "{POSITION}") '
            f"TO '{target}' (FORMAT parquet, ROW_GROUP_SIZE 100000)"
        )
    finally:
        con.close()


def _batches(sorted_file: Path, batch_rows: int) -> Iterator[pa.Table]:
    source = pq.ParquetFile(sorted_file)
    for batch in source.iter_batches(batch_size=batch_rows):
        yield pa.Table.from_batches([batch])


def _write_csv(sorted_file: Path, path: Path, batch_rows: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame([], columns=list(RAW_EVENT_COLUMNS)).to_csv(path, index=False, lineterminator="\n")
    with path.open("a", newline="") as handle:
        for table in _batches(sorted_file, batch_rows):
            table.to_pandas().to_csv(handle, header=False, index=False, lineterminator="\n")


def _pandas_schema() -> pa.Schema:
    """The schema (with pandas' metadata) ``frame.astype("string").to_parquet(index=False)`` writes."""
    frame = pd.DataFrame({name: pd.Series(["x"], dtype="string") for name in RAW_EVENT_COLUMNS})
    return pa.Table.from_pandas(frame, preserve_index=False).schema


def _write_parquet(sorted_file: Path, path: Path, row_group: int) -> None:
    """Row groups of exactly ``row_group`` rows, as one ``to_parquet`` call writes them.

    Each row group is read as one record batch (one contiguous array per column, which is what
    ``to_parquet`` hands the writer, so pages split the same way), and only one is held at a time.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    schema = _pandas_schema()
    with pq.ParquetWriter(path, schema, compression="snappy") as writer:
        for batch in pq.ParquetFile(sorted_file).iter_batches(batch_size=row_group):
            table = pa.Table.from_batches([batch]).cast(schema)
            del batch
            writer.write_table(table, row_group_size=row_group)
            del table


def generate_to_files(
    config: GeneratorConfig,
    raw_dir: Path,
    truth_dir: Path,
    file_format: str = "csv",
    *,
    batch_events: int = 100_000,
    memory_limit: str = "512MB",
    work_dir: Path | None = None,
) -> StreamedRun:
    """Simulate the company and write its raw inputs and truth; the same files as
    ``write_generated(generate(config), raw_dir, truth_dir, file_format)`` with memory bounded
    by ``batch_events`` (events held at once) and ``memory_limit`` (DuckDB's sort); temporary
    files go to ``work_dir`` (default: the folder holding ``raw_dir``) and are removed."""
    if file_format not in STREAMED_FORMATS:
        raise ValueError(
            f"the streaming generator writes {' or '.join(STREAMED_FORMATS)}, not {file_format!r}"
        )
    # the spills (about the size of the output) go next to the output by default, not to /tmp,
    # which is often a small RAM disk
    work_parent = work_dir if work_dir is not None else raw_dir.parent
    work_parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".lawn-generate-", dir=work_parent))
    try:
        return _generate(config, raw_dir, truth_dir, file_format, batch_events, memory_limit, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _generate(
    config: GeneratorConfig,
    raw_dir: Path,
    truth_dir: Path,
    file_format: str,
    batch_events: int,
    memory_limit: str,
    work: Path,
) -> StreamedRun:
    rng = np.random.default_rng(config.seed)
    plan = load_tracking_plan()
    log = EventLog(config.seed, config.start_date)
    horizon = config.days * DAY
    clean = _Spill(work / "clean")
    world = simulate(
        config,
        rng,
        log,
        flush=lambda events: clean.write([e for e in events if e.occurred_s < horizon]),
        flush_every=batch_events,
    )
    dirt = draw_dirt_plan(clean.count, config.dirt, rng)
    raw, truth = other_tables(config, world, rng)  # draws the spend: after the dirt, as in memory

    truth_dir.mkdir(parents=True, exist_ok=True)
    ledger = _LedgerWriter(work / "truth_dirt.csv")
    duplicates_ledger = _LedgerWriter(work / "truth_dirt_duplicates.csv")
    redeliveries = _Spill(work / "redeliveries")
    breaks = InstrumentationBreaks(config)
    chunks = _ChunkWriter(work / "chunks", log)

    def deliver(events: list[Event]) -> None:
        first = breaks.delivered
        chunks.write(breaks.apply(events), first)

    offset = 0
    for events in clean.read():
        stop = offset + len(events)
        rows, copies, copy_rows = [], [], []
        kinds, values, extras = dirt.batch(offset, stop)
        for event, kind, value in zip(events, kinds, values, strict=True):
            row = apply_dirt(event, kind, value, plan)
            if row is not None:
                rows.append(row)
        for event, extra_s in zip(events, extras, strict=True):
            if extra_s:
                copy_, row = redeliver(event, extra_s)
                copies.append(copy_)
                copy_rows.append(row)
        ledger.append(rows)
        duplicates_ledger.append(copy_rows)
        redeliveries.write(copies)
        deliver(events)
        offset = stop
    del dirt
    for events in redeliveries.read():
        deliver(events)

    sorted_file = work / "sorted.parquet"
    _sort(work / "chunks", sorted_file, work, memory_limit)
    shutil.rmtree(work / "chunks")
    suffix = file_format
    events_path = raw_dir / f"raw_events.{suffix}"
    batch_rows = max(1_000, min(batch_events, 100_000))
    if file_format == "csv":
        _write_csv(sorted_file, events_path, batch_rows)
    else:
        _write_parquet(sorted_file, events_path, PARQUET_ROW_GROUP)
    paths = [events_path]
    for name, frame in raw.items():
        path = raw_dir / f"{name}.{suffix}"
        _write(frame, path, file_format)  # type: ignore[arg-type]
        paths.append(path)

    instrumentation_truth = breaks.truth()
    for name, frame in truth.items():
        path = truth_dir / f"truth_{name}.csv"
        _write(frame, path, "csv")
        paths.append(path)
    dirt_path = truth_dir / "truth_dirt.csv"
    shutil.copyfile(ledger.path, dirt_path)
    with dirt_path.open("ab") as target, duplicates_ledger.path.open("rb") as source:
        source.readline()  # its header
        shutil.copyfileobj(source, target)
    paths.append(dirt_path)
    extra_truth = {}
    if instrumentation_truth is not None:
        extra_truth["instrumentation"] = instrumentation_truth
    if config.action_effects is not None:
        extra_truth["action_effects"] = _action_effects_truth(config, world.exposures)
    for name, frame in extra_truth.items():
        path = truth_dir / f"truth_{name}.csv"
        _write(frame, path, "csv")
        paths.append(path)
    return StreamedRun(paths=paths, events=chunks.rows)
