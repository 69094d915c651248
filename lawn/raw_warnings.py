"""Warnings a landing prints about what it landed: values that will not mean what the sender
meant, though every row is kept (the staging quarantine or the marts show the effect). One line
each, naming the file: event names the tracking plan does not know (Segment call types, or most
names of a feed: `Signed Up` for `signed_up`), and CRM picklist values spelt two ways
(`Mid-Market` and `mid_market` stay two segments); and the files of the raw folder that look
like data but are not read (`events.csv`, `raw_events.xlsx`)."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from pathlib import Path

import duckdb

from lawn.contract import FILE_FORMATS, RAW_TABLES, RawTable

# Segment call types a raw feed sometimes sends as event_name (the tracking plan's names differ)
SEGMENT_CALL_NAMES = ("identify", "alias", "track", "page", "screen", "group")


def segment_call_warning(
    table: RawTable, path: Path, connection: duckdb.DuckDBPyConnection, relation: str
) -> str:
    """A warning line when raw_events rows are named after a Segment call (`identify`,
    `alias`...): they are landed and quarantined as UNKNOWN_EVENT, so say what to do."""
    if table.name != "raw_events":
        return ""
    names = ", ".join(f"'{name}'" for name in SEGMENT_CALL_NAMES)
    found = connection.execute(
        f"select lower(trim(event_name)) as name, count(*) from {relation} "
        f"where lower(trim(event_name)) in ({names}) group by 1 order by 1"
    ).fetchall()
    if not found:
        return ""
    counts = ", ".join(f"{count} '{name}'" for name, count in found)
    return (
        f"{path}: event_name is a Segment call type in {counts} row(s): not in the tracking "
        "plan, they will be quarantined (UNKNOWN_EVENT); convert a Segment export with `lawn ingest "
        "segment`, or send identify and alias as `identified` (an alias's previousId as anonymous_id)"
    )


def unknown_event_warning(
    table: RawTable, path: Path, connection: duckdb.DuckDBPyConnection, relation: str
) -> str:
    """A warning line when most of a raw_events file's named rows carry an event name the
    tracking plan lacks (trimmed, exact, as staging compares): they land and are quarantined
    as UNKNOWN_EVENT, and a feed of only such rows built with no word (a probe's Title Case
    "Signed Up" export, 2026-12-07). Names the commonest, and the plan's name it most likely
    means when it differs only in case, spaces or hyphens. Segment call types have their own."""
    if table.name != "raw_events":
        return ""
    from lawn.tracking_plan import load_tracking_plan

    known = sorted({name for name, _version in load_tracking_plan()})
    calls = ", ".join(f"'{name}'" for name in SEGMENT_CALL_NAMES)
    named, unknown, top = connection.execute(
        f"""
        with named as (
            select trim(event_name) as name from {relation} where nullif(trim(event_name), '') is not null
        ), unknown as (
            select name from named
            where name not in (select unnest(?::varchar[])) and lower(name) not in ({calls})
        )
        select (select count(*) from named), (select count(*) from unknown),
            (select list(name order by n desc, name) from (
                select name, count(*) as n from unknown group by name order by n desc, name limit 3
            ))
        """,
        [known],
    ).fetchone()
    if not unknown or unknown * 2 < named:
        return ""
    canonical = {spelling_key(name): name for name in known}
    examples = []
    for name in top or []:
        meant = canonical.get(spelling_key(name))
        examples.append(f"'{name}'" + (f" (the plan's '{meant}'?)" if meant else ""))
    return (
        f"{path}: {unknown:,} of {named:,} named rows carry an event name the tracking plan does not "
        f"know, e.g. {', '.join(examples)}: they will be quarantined (UNKNOWN_EVENT); rename them "
        "to the plan's names (seeds/tracking_plan/tracking_plan_events.csv) or add them to the plan"
    )


# CRM columns whose values are codes that configuration and marts group by
PICKLIST_COLUMNS = {"crm_accounts": ("segment", "acquisition_channel")}


def spelling_key(value: str) -> str:
    """A name's or picklist value's spelling-free key: lower case, runs of spaces, hyphens and
    underscores as one underscore (`Mid-Market`, `mid market`, `mid_market` -> `mid_market`)."""
    return re.sub(r"[\s_-]+", "_", value.strip().lower())


def picklist_warning(
    table: RawTable, path: Path, connection: duckdb.DuckDBPyConnection, relation: str
) -> str:
    """A warning line when a CRM picklist column holds one value in several spellings: staging
    lower-cases and trims it (lawn's codes are snake_case, e.g. `mid_market`), so `Mid-Market`
    and `mid_market` stay two segments, and a seed naming `mid_market` misses the first."""
    found = []
    present = {row[0] for row in connection.execute(f"describe {relation}").fetchall()}
    for column in (name for name in PICKLIST_COLUMNS.get(table.name, ()) if name in present):
        rows = connection.execute(
            f"select distinct lower(trim({column})) from {relation} "
            f"where nullif(trim({column}), '') is not null"
        ).fetchall()
        spellings: dict[str, list[str]] = {}
        for (value,) in rows:
            spellings.setdefault(spelling_key(value), []).append(value)
        split = [sorted(values) for values in spellings.values() if len(values) > 1]
        found += [f"{column} " + " / ".join(f"'{value}'" for value in values) for values in sorted(split)]
    if not found:
        return ""
    return (
        f"{path}: one value in several spellings: {'; '.join(found)}: staging lower-cases and trims "
        "them only, so each spelling is its own group in every mart; use one (lawn's codes are "
        "snake_case, e.g. mid_market, as the seeds name them)"
    )


def landing_warnings(
    table: RawTable, path: Path, connection: duckdb.DuckDBPyConnection, relation: str
) -> tuple[str, ...]:
    """The warnings of one landed file, in order (none for most tables)."""
    checks = (segment_call_warning, unknown_event_warning, picklist_warning)
    found = (check(table, path, connection, relation) for check in checks)
    return tuple(line for line in found if line)


# names that look like data to someone filling the raw folder (what lawn reads, and the
# formats a spreadsheet, a warehouse unload or another tool writes), longest first
DATA_SUFFIXES = tuple(
    sorted(
        {*FILE_FORMATS, ".json", ".json.gz", ".tsv", ".txt", ".xlsx", ".xls", ".zip", ".gz", ".avro", ".orc"},
        key=len,
        reverse=True,
    )
)


@dataclass(frozen=True)
class UnreadFile:
    """A file (or folder of files) of the raw folder that looks like data but is not read."""

    path: Path
    why: str
    table: str | None  # the contract table it probably is

    @property
    def line(self) -> str:
        shown = f"{self.path}/" if self.path.is_dir() else str(self.path)
        return f"{shown}: not read: {self.why}"


def _unread(raw_dir: Path, path: Path, stem: str, suffix: str) -> UnreadFile | None:
    """Why ``path`` (``stem`` + ``suffix``; a folder has no suffix) is not read; None if it is."""
    tables = ", ".join(RAW_TABLES)
    wanted = stem.lower()
    if path.is_dir():
        if stem in RAW_TABLES:
            return None
        guess = _likely_table(wanted)
        hint = f"; is it the folder {guess}/?" if guess else ""
        return UnreadFile(path, f"{stem!r} names no table of the contract ({tables}){hint}", guess)
    if wanted in RAW_TABLES and suffix.lower() in FILE_FORMATS:
        expected = raw_dir / f"{wanted}{suffix.lower()}"
        if expected.exists() and expected.samefile(path):  # read (or a case-blind file system)
            return None
        return UnreadFile(path, f"names are case-sensitive: name it {expected.name}", wanted)
    if wanted in RAW_TABLES:
        return UnreadFile(path, f"{suffix} is not a file type lawn reads ({', '.join(FILE_FORMATS)})", wanted)
    guess = _likely_table(wanted)
    readable = suffix.lower() if suffix.lower() in FILE_FORMATS else ""
    hint = f"; is it {guess}{readable}?" if guess else ""
    return UnreadFile(path, f"{stem!r} names no table of the contract ({tables}){hint}", guess)


def _likely_table(name: str) -> str | None:
    found = difflib.get_close_matches(name, list(RAW_TABLES), n=1, cutoff=0.6)
    return found[0] if found else None


def unread_files(raw_dir: Path) -> list[UnreadFile]:
    """The files (or folders of files) in ``raw_dir`` that look like data but are not read: a
    name the contract lacks (`events.csv`), a name in capitals on a case-sensitive file system,
    or a file type lawn does not read (`raw_events.xlsx`). Such a file was ignored without a
    word (a probe, 2026-12-07): a CRM export under another name left every account without a
    segment and the build passed. Names starting with `.` or `_` are not data."""
    found = []
    for path in sorted(raw_dir.iterdir(), key=lambda p: p.name):
        name = path.name
        if name.startswith((".", "_")):
            continue
        if path.is_dir():
            children = (child for child in path.iterdir() if child.is_file())
            if any(child.name.lower().endswith(DATA_SUFFIXES) for child in children):
                found.append(_unread(raw_dir, path, name, ""))
            continue
        suffix = next((s for s in DATA_SUFFIXES if name.lower().endswith(s)), None)
        if suffix is not None:
            found.append(_unread(raw_dir, path, name[: -len(suffix)], name[-len(suffix) :]))
    return [unread for unread in found if unread is not None]


def unread_file_warnings(raw_dir: Path) -> list[str]:
    """One warning line per file of ``raw_dir`` that is not read (`unread_files`)."""
    return [unread.line for unread in unread_files(raw_dir)]
