"""`lawn catalog`: the data dictionary (HTML + CSV) with the catalog gate's verdict."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from lawn.cli_common import fail, guarded, out
from lawn.paths import REPO_ROOT, duckdb_path, unwritable_reason

CATALOG_DIR = REPO_ROOT / "data" / "catalog"


@guarded
def catalog(
    out_dir: Annotated[
        Path, typer.Option("--out", help="Folder for data_dictionary.csv and data_dictionary.html.")
    ] = CATALOG_DIR,
    db: Annotated[Path | None, typer.Option(help="The built warehouse (default: LAWN_DUCKDB_PATH).")] = None,
) -> None:
    """Write the data dictionary: every column of every source, seed, model and snapshot with
    type, description, owner, purpose, data class, retention class and lineage up to the raw
    field. Exit 1 when the catalog gate finds a column without its meta or direct PII where
    it may not live (the dictionary is written anyway)."""
    from lawn.catalog import CatalogError, class_counts, make_catalog
    from lawn.warehouse import check_warehouse

    db_path = db or duckdb_path()
    if out_dir.exists() and not out_dir.is_dir():
        fail(f"--out {out_dir}: exists and is not a folder")
    if not db_path.exists():
        fail(f"--db {db_path}: no warehouse there (run `lawn build` first)")
    # a CSV or a damaged file given as the warehouse: one line, exit 2 (dbt's docs generate
    # described whatever it opened, and the dictionary was written without the warehouse)
    check_warehouse(db_path, write=False, must_exist=True)
    if reason := unwritable_reason(out_dir):  # it failed at the end with a bare FileNotFoundError
        fail(f"--out {out_dir}: cannot write the dictionary there ({reason})")
    try:
        result = make_catalog(db_path, out_dir)
    except CatalogError as exc:
        fail(str(exc), 1)
    counts = class_counts(result.dictionary)["total"]
    out.print(", ".join(f"{name} {count}" for name, count in counts.items()) + f" ({counts.sum()} columns)")
    out.print(f"wrote {result.csv_path} and {result.html_path}")
    if result.problems:
        for problem in result.problems[:20]:
            out.print(f"  {problem}", highlight=False)
        fail(f"catalog gate: {len(result.problems)} problem(s)", 1)
