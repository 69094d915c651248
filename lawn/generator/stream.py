"""Write a generator run to files with bounded memory: the same bytes as ``generate`` followed by
``write_generated``, at any size.

The in-memory path holds every event as a Python object and every row in a DataFrame (5M events
took 12.9 GB). Here events only pass through:

1. the simulation runs account by account with the one shared random stream, and its events are
   spilled to disk in batches (``marshal``-ed tuples, in the order they were appended); the
   world's own tables (accounts, people, ledgers) are then written and the world dropped;
2. the dirt step's draws depend on the number of events only, so they are made up front
   (``draw_dirt_plan``: a few bytes per event) in exactly the order ``plant_dirt`` makes them;
3. each batch is read back, its dirt and instrumentation breaks applied, and serialised with
   its position in the delivered list into Arrow IPC files cut into ``received_at`` buckets
   (equal time spans, about ``bucket_rows`` rows each); redeliveries (duplicates) follow the
   originals, as in memory;
4. bucket after bucket, every file's part of it is read back and sorted by (received_at,
   event_id, position), which is what the in-memory stable sort gives, and written out as CSV
   or Parquet row groups. Every row of a bucket sorts before every row of the next one, so no
   sort ever holds more than one bucket (no sort over the whole file, no DuckDB).

Typed Parquet (``parquet-typed``) is not streamed: whether a column is typed depends on every
one of its values, so the caller falls back to the in-memory path for it.
"""

from __future__ import annotations

import bisect
import contextlib
import ctypes
import dataclasses
import datetime as dt
import gc
import marshal
import operator
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from lawn.contract import RAW_EVENT_COLUMNS
from lawn.generator.commercial import DAY
from lawn.generator.config import GeneratorConfig
from lawn.generator.dirt import DirtPlan, apply_dirt, draw_dirt_plan, redeliver
from lawn.generator.events import Event, EventLog
from lawn.generator.instrumentation import InstrumentationBreaks
from lawn.generator.run import (
    DIRT_TRUTH_COLUMNS,
    _action_effects_truth,
    _serialise,
    other_tables,
    simulate,
)
from lawn.generator.stream_files import write_csv, write_parquet
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
            # dumps/loads on bytes: marshal.dump/load on a file go through it in small reads
            # and writes, about 7 times slower
            handle.write(marshal.dumps([_EVENT_VALUES(event) for event in events]))
        self.files.append(path)
        self.count += len(events)

    def read(self) -> Iterator[list[Event]]:
        for path in self.files:
            gc.disable()  # loading builds many containers, none cyclic: skip the collector's passes
            try:
                with path.open("rb") as handle:
                    events = [Event(*values) for values in marshal.loads(handle.read())]
            finally:
                gc.enable()
            path.unlink()
            yield events


class _Buckets:
    """Serialised deliveries, with their position, cut into buckets of ``received_at`` ranges
    for the sort: each delivered batch becomes one Arrow IPC file holding one record batch per
    bucket (LZ4), so a bucket is read back from every file without reading the rest.

    A row's bucket is found by comparing its ``received_at`` text with the boundaries, so rows
    with the same text always share a bucket and every row of a bucket sorts before every row of
    the next one: sorting bucket after bucket is the whole sort.
    """

    def __init__(self, folder: Path, log: EventLog, boundaries: list[str]) -> None:
        self.folder, self.log, self.boundaries = folder, log, boundaries
        folder.mkdir(parents=True, exist_ok=True)
        self.files: list[Path] = []
        self.rows = 0
        self.schema = pa.schema(
            [(name, pa.string()) for name in RAW_EVENT_COLUMNS] + [(POSITION, pa.int64())]
        )
        codec = "lz4" if pa.Codec.is_available("lz4") else None
        self.options = pa.ipc.IpcWriteOptions(compression=codec)

    @property
    def count(self) -> int:
        return len(self.boundaries) + 1

    def _bucket(self, received_at: str | None) -> int:
        if received_at is None:  # sorts last (pandas' na_position="last")
            return len(self.boundaries)
        return bisect.bisect_right(self.boundaries, received_at)

    def write(self, events: list[Event], first_position: int) -> None:
        if not events:
            return
        rows = [_serialise(self.log, event) for event in events]
        buckets = [self._bucket(row["received_at"]) for row in rows]
        order = sorted(range(len(rows)), key=buckets.__getitem__)  # stable: by bucket only
        columns = [[rows[i][name] for i in order] for name in RAW_EVENT_COLUMNS]
        columns.append([first_position + i for i in order])
        batch = pa.record_batch(columns, schema=self.schema)
        del rows, columns
        sizes = np.bincount(np.asarray(buckets, dtype=np.int64), minlength=self.count)
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        path = self.folder / f"{len(self.files):06d}.arrow"
        with (
            pa.OSFile(str(path), "wb") as sink,
            pa.ipc.new_file(sink, self.schema, options=self.options) as out,
        ):
            for start, size in zip(starts.tolist(), sizes.tolist(), strict=True):
                out.write_batch(batch.slice(start, size))
        self.files.append(path)
        self.rows += len(events)

    def sorted_tables(self) -> Iterator[pa.Table]:
        """Each bucket's rows (every file's part of it) sorted by (received_at, event_id,
        position), bucket after bucket, without the position; the files are removed at the end."""
        keys = [(name, "ascending", "at_end") for name in ("received_at", "event_id", POSITION)]
        sources = [pa.OSFile(str(path), "rb") for path in self.files]  # opened once, read bucket by bucket
        pool = pa.default_memory_pool()
        try:
            readers = [pa.ipc.open_file(source) for source in sources]
            for bucket in range(self.count):
                table = pa.Table.from_batches([reader.get_batch(bucket) for reader in readers], self.schema)
                if table.num_rows:
                    order = pc.sort_indices(table, sort_keys=keys)
                    yield table.take(order).drop_columns([POSITION])
                del table
                pool.release_unused()  # mimalloc keeps freed buffers otherwise, and they add up
        finally:
            for source in sources:
                source.close()
        for path in self.files:
            path.unlink()


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


def _boundaries(log: EventLog, horizon_s: float, rows: int, bucket_rows: int) -> list[str]:
    """``received_at`` texts cutting the horizon into equal spans holding ``bucket_rows`` rows
    each on average (the last bucket also takes everything received after the horizon)."""
    count = max(1, -(-rows // max(1, bucket_rows)))
    return [
        (log.start + dt.timedelta(seconds=horizon_s * k / count)).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        for k in range(1, count)
    ]


def generate_to_files(
    config: GeneratorConfig,
    raw_dir: Path,
    truth_dir: Path,
    file_format: str = "csv",
    *,
    batch_events: int = 100_000,
    bucket_rows: int = 100_000,
    work_dir: Path | None = None,
) -> StreamedRun:
    """Simulate the company and write its raw inputs and truth; the same files as
    ``write_generated(generate(config), raw_dir, truth_dir, file_format)`` with memory bounded
    by ``batch_events`` (events held at once) and ``bucket_rows`` (rows sorted at once, on
    average); temporary
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
        return _generate(config, raw_dir, truth_dir, file_format, batch_events, bucket_rows, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _generate(
    config: GeneratorConfig,
    raw_dir: Path,
    truth_dir: Path,
    file_format: str,
    batch_events: int,
    bucket_rows: int,
    work: Path,
) -> StreamedRun:
    rng = np.random.default_rng(config.seed)
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
    if config.action_effects is not None:
        action_effects = _action_effects_truth(config, world.exposures)
    del world  # the world's tables are made: write them now and hold none of it while sorting
    raw_paths, truth_paths = [], []
    for name, frame in raw.items():
        path = raw_dir / f"{name}.{file_format}"
        _write(frame, path, file_format)  # type: ignore[arg-type]
        raw_paths.append(path)
    truth_dir.mkdir(parents=True, exist_ok=True)
    for name, frame in truth.items():
        path = truth_dir / f"truth_{name}.csv"
        _write(frame, path, "csv")
        truth_paths.append(path)
    del raw, truth
    _give_back_memory()

    breaks = InstrumentationBreaks(config)
    delivered_rows = clean.count + len(dirt.redelivered)  # before the breaks drop any
    buckets = _Buckets(work / "buckets", log, _boundaries(log, horizon, delivered_rows, bucket_rows))
    ledger = _deliver_all(clean, dirt, breaks, buckets, work)
    del dirt
    _give_back_memory()

    events_path = raw_dir / f"raw_events.{file_format}"
    _write_events(buckets, events_path, file_format, max(1_000, min(batch_events, 100_000)))
    paths = [events_path, *raw_paths, *truth_paths]

    dirt_path = truth_dir / "truth_dirt.csv"
    shutil.move(ledger, dirt_path)
    paths.append(dirt_path)
    extra_truth = {}
    instrumentation_truth = breaks.truth()
    if instrumentation_truth is not None:
        extra_truth["instrumentation"] = instrumentation_truth
    if config.action_effects is not None:
        extra_truth["action_effects"] = action_effects
    for name, frame in extra_truth.items():
        path = truth_dir / f"truth_{name}.csv"
        _write(frame, path, "csv")
        paths.append(path)
    return StreamedRun(paths=paths, events=buckets.rows)


def _give_back_memory() -> None:
    """Return the memory a finished phase freed to the system: the world's objects leave
    glibc's heap in pieces, which stay counted in the RSS of every later phase otherwise."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to trim
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def _deliver_all(
    clean: _Spill, dirt: DirtPlan, breaks: InstrumentationBreaks, buckets: _Buckets, work: Path
) -> Path:
    """Apply the dirt and the breaks to every spilled batch and cut the deliveries into the sort
    buckets: the originals first, then their redeliveries, as in memory. Returns the dirt ledger
    (pass-one rows, then the duplicates' rows)."""
    plan = load_tracking_plan()
    ledger = _LedgerWriter(work / "truth_dirt.csv")
    duplicates_ledger = _LedgerWriter(work / "truth_dirt_duplicates.csv")
    redeliveries = _Spill(work / "redeliveries")

    def deliver(events: list[Event]) -> None:
        first = breaks.delivered
        buckets.write(breaks.apply(events), first)

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
    for events in redeliveries.read():
        deliver(events)
    with ledger.path.open("ab") as target, duplicates_ledger.path.open("rb") as source:
        source.readline()  # its header
        shutil.copyfileobj(source, target)
    return ledger.path


def _write_events(buckets: _Buckets, path: Path, file_format: str, batch_rows: int) -> None:
    """The sorted deliveries as ``raw_events`` (CSV or Parquet)."""
    if file_format == "csv":
        write_csv(buckets.sorted_tables(), path, batch_rows)
    else:
        write_parquet(buckets.sorted_tables(), path, PARQUET_ROW_GROUP)
