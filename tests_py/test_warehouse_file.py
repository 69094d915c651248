"""Which files are DuckDB warehouses by their first bytes (lawn.warehouse.is_duckdb_file): a
CSV, a text file or a folder given as --db is bad input (exit 2), told apart from a damaged
DuckDB file (exit 1, tests_py/test_hardening.py)."""

from __future__ import annotations

import duckdb
import pytest

from lawn.warehouse import WarehouseError, check_warehouse, is_duckdb_file


def test_duckdb_files_are_told_from_other_files(tmp_path):
    real = tmp_path / "real.duckdb"
    with duckdb.connect(str(real)) as con:
        con.execute("create table t as select 1 as x")
    empty = tmp_path / "empty.duckdb"
    empty.write_bytes(b"")
    csv = tmp_path / "accounts.csv"
    csv.write_text("account_id,segment\nacme,smb\n")
    sqlite = tmp_path / "other.db"
    sqlite.write_bytes(b"SQLite format 3\x00" + bytes(100))
    assert is_duckdb_file(real)
    assert not is_duckdb_file(csv) and not is_duckdb_file(sqlite) and not is_duckdb_file(tmp_path)
    # DuckDB 2 does not initialise an empty file ("exists, but it is not a valid DuckDB
    # database file"): bad input too (a probe: `touch lawn.duckdb` gave exit 1)
    assert not is_duckdb_file(empty)
    with pytest.raises(duckdb.IOException, match="not a valid DuckDB database file"):
        duckdb.connect(str(empty)).close()


@pytest.mark.parametrize("name", ["accounts.csv", "folder", "empty.duckdb"])
def test_check_warehouse_calls_a_foreign_file_bad_input(tmp_path, name):
    path = tmp_path / name
    if name == "folder":
        path.mkdir()
    elif name == "empty.duckdb":
        path.write_bytes(b"")
    else:
        path.write_text("account_id,segment\n")
    for write in (False, True):
        with pytest.raises(WarehouseError, match="not a DuckDB warehouse") as raised:
            check_warehouse(path, write=write, must_exist=True)
        assert raised.value.exit_code == 2
