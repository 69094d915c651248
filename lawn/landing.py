"""The landing tables: what Python writes and dbt reads as sources (schemas ml and ops).

Each table's columns are defined once, in the source YAML (models/staging/ml/_ml__sources.yml,
models/staging/ops/_ops__sources.yml): a source table with ``config.meta.landing`` is a
landing table; its columns, in order, with a logical ``data_type`` (string, date, timestamp,
boolean, double, bigint). The dbt on-run-start hook (macros/landing/create_landing_tables.sql)
creates the tables from that YAML; this module reads the same YAML for Python's DDL (a table
Python needs before dbt has run), its inserts (every column, by name) and the nightly's graph
selection (``meta.landing.nightly_step``: the step that writes the table).
tests_py/test_landing.py fails when the hook's tables, this module and the writers disagree."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from lawn.paths import REPO_ROOT

SOURCE_FILES = (
    REPO_ROOT / "models" / "staging" / "ml" / "_ml__sources.yml",
    REPO_ROOT / "models" / "staging" / "ops" / "_ops__sources.yml",
    REPO_ROOT / "models" / "staging" / "privacy" / "_privacy__sources.yml",
)
# logical type -> DuckDB type (the hook maps the same names through dbt's type macros)
DUCKDB_TYPES = {
    "string": "varchar",
    "date": "date",
    "timestamp": "timestamp",
    "boolean": "boolean",
    "double": "double",
    "bigint": "bigint",
}
# logical type -> PostgreSQL type (the hook maps the same names through dbt's type macros)
POSTGRES_TYPES = {
    "string": "text",
    "date": "date",
    "timestamp": "timestamp",
    "boolean": "boolean",
    "double": "double precision",
    "bigint": "bigint",
}
# the nightly steps after the first build that write landing tables, in run order
NIGHTLY_WRITING_STEPS = ("score", "bandit", "actions")


class LandingError(RuntimeError):
    """The landing definition in the source YAML is missing or malformed."""


@dataclass(frozen=True)
class LandingTable:
    source: str  # the dbt source name
    name: str  # the table name (schema.name in the warehouse)
    schema: str
    columns: tuple[tuple[str, str], ...]  # (column, logical type), in order
    nightly_step: str | None  # the `lawn nightly` step that writes it (None: outside the steps)

    @property
    def relation(self) -> str:
        return f"{self.schema}.{self.name}"

    @property
    def column_names(self) -> list[str]:
        return [name for name, _ in self.columns]

    def duckdb_ddl(self) -> str:
        """``create table if not exists`` for DuckDB, as the hook creates it."""
        body = ", ".join(f"{name} {DUCKDB_TYPES[kind]}" for name, kind in self.columns)
        schema = f"create schema if not exists {self.schema};"
        return f"{schema}\ncreate table if not exists {self.relation} ({body})"

    def postgres_ddl(self) -> str:
        """``create table if not exists`` for PostgreSQL (lawn/postgres.py), as the hook creates it."""
        body = ", ".join(f"{name} {POSTGRES_TYPES[kind]}" for name, kind in self.columns)
        schema = f"create schema if not exists {self.schema};"
        return f"{schema} create table if not exists {self.relation} ({body})"

    def insert_sql(self, relation_or_frame: str) -> str:
        """Insert every column, by name, from a registered DataFrame (or a relation) holding
        them: a writer whose frame lacks a defined column fails instead of leaving it empty."""
        columns = ", ".join(self.column_names)
        return f"insert into {self.relation} ({columns}) select {columns} from {relation_or_frame}"

    def insert_values_sql(self) -> str:
        """Insert one row of parameters, in the definition's column order."""
        marks = ", ".join("?" for _ in self.columns)
        return f"insert into {self.relation} ({', '.join(self.column_names)}) values ({marks})"


def _table(source: dict, table: dict, path: Path) -> LandingTable | None:
    landing = ((table.get("config") or {}).get("meta") or {}).get("landing")
    if landing is None:
        return None
    where = f"{path.name}: {source.get('name')}.{table.get('name')}"
    columns = []
    for column in table.get("columns") or []:
        kind = column.get("data_type")
        if kind not in DUCKDB_TYPES:
            raise LandingError(
                f"{where}, column {column.get('name')}: data_type {kind!r} is not one of "
                + ", ".join(sorted(DUCKDB_TYPES))
            )
        columns.append((column["name"], kind))
    if not columns:
        raise LandingError(f"{where}: a landing table needs its columns")
    step = landing.get("nightly_step")
    if step is not None and step not in NIGHTLY_WRITING_STEPS:
        raise LandingError(f"{where}: nightly_step {step!r} is not one of {', '.join(NIGHTLY_WRITING_STEPS)}")
    return LandingTable(
        source["name"], table["name"], source.get("schema", source["name"]), tuple(columns), step
    )


@cache
def landing_tables() -> dict[str, LandingTable]:
    """Every landing table, by ``schema.name``."""
    found: dict[str, LandingTable] = {}
    for path in SOURCE_FILES:
        try:
            document = yaml.safe_load(path.read_text())
        except (OSError, yaml.YAMLError) as exc:
            raise LandingError(f"{path}: {exc}") from exc
        for source in (document or {}).get("sources") or []:
            for table in source.get("tables") or []:
                landed = _table(source, table, path)
                if landed is not None:
                    found[landed.relation] = landed
    if not found:
        raise LandingError("no landing tables in " + ", ".join(str(path) for path in SOURCE_FILES))
    return found


def landing_table(relation: str) -> LandingTable:
    """The landing table ``schema.name`` (a KeyError names the known ones)."""
    tables = landing_tables()
    if relation not in tables:
        raise KeyError(f"{relation} is not a landing table (known: {', '.join(sorted(tables))})")
    return tables[relation]


def columns(relation: str) -> list[str]:
    return landing_table(relation).column_names


def descendants_of(tables: list[LandingTable]) -> list[str]:
    """dbt selectors for everything downstream of ``tables``: ``source:ml+`` when every
    landing table of a source is in ``tables``, else ``source:ops.action_exports+`` per table."""
    selectors = []
    for source in sorted({table.source for table in tables}):
        mine = {table.name for table in tables if table.source == source}
        every = {table.name for table in landing_tables().values() if table.source == source}
        if mine == every:
            selectors.append(f"source:{source}+")
        else:
            selectors += [f"source:{source}.{name}+" for name in sorted(mine)]
    return selectors


def written_in(steps: tuple[str, ...] | list[str]) -> list[LandingTable]:
    return [table for table in landing_tables().values() if table.nightly_step in steps]


def nightly_selection(step: str) -> tuple[list[str], list[str]]:
    """(select, exclude) for the dbt build that follows nightly step ``step``: what is
    downstream of the tables the step writes, except what is downstream of a table a later
    step writes (that is built after it). For ``build`` (the first build) select is empty:
    everything except what is downstream of any table a later step writes."""
    order = ("build", *NIGHTLY_WRITING_STEPS)
    if step not in order:
        raise ValueError(f"unknown nightly step {step!r}")
    later = order[order.index(step) + 1 :]
    select = [] if step == "build" else descendants_of(written_in([step]))
    return select, descendants_of(written_in(later))
