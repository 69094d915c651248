"""Two staging shortcuts against independent computations, on hand-written rows:

- json_extract_scalar_list (the context's six keys parsed once) gives, key by key, what
  json_extract_scalar gives for that key alone, and what Python's json module reads;
- row_hash (one concat() call) is the md5 of the documented text: per column 's' + value, or
  'n' for null, joined by '|' (hashlib on text built in Python)."""

from __future__ import annotations

import hashlib
import json

import duckdb
import pytest

from tests_py.conftest import run_dbt

KEYS = ["platform", "app_version", "locale", "latency_ms", "error_code", "ip"]

CONTEXTS = {
    "full": '{"platform":"ios","app_version":"2.1.0","locale":"en-GB","latency_ms":120,'
    '"error_code":null,"ip":"10.0.0.1"}',
    "some_missing": '{"platform":"web"}',
    "empty": "{}",
    "nested_values": '{"platform":{"os":"ios","v":2},"locale":["en","fr"],"ip":true}',
    "unicode_escape": '{"locale":"fr-\\u00e9","app_version":"caf\u00e9"}',
    "numbers": '{"latency_ms":1.5e2,"error_code":-0,"app_version":12}',
    "dotted_key_and_lookalikes": '{"platform.x":"no","platforms":"no","platform":"yes"}',
    "whitespace": '{ "platform" : "android" ,\n "ip" : "::1" }',
    "escaped_quote": '{"error_code":"E\\"42\\"","locale":"a\\\\b"}',
    "null_text": None,
}

LIST_SQL = (
    "select case_id, "
    + ", ".join(f"{{{{ json_extract_scalar('context', \"'{key}'\") }}}} as one_{key}" for key in KEYS)
    + ", "
    + ", ".join(
        f"{{{{ list_item(json_extract_scalar_list('context', {KEYS}), {position}) }}}} as list_{key}"
        for position, key in enumerate(KEYS, start=1)
    )
    + " from cases"
)
HASH_SQL = "select case_id, {{ row_hash(['a', 'b', 'c']) }} as row_hash from rows"


@pytest.fixture(scope="module")
def compiled(tmp_path_factory) -> dict[str, str]:
    """Both queries from one `dbt compile` (a statement each, split on ';')."""
    work = tmp_path_factory.mktemp("compile_context")
    inline = f"{LIST_SQL};\n{HASH_SQL}"
    result = run_dbt(["compile", "--quiet", "--inline", inline], work / "lawn.duckdb", work)
    sql = dict(zip(["list", "hash"], (part.strip() for part in result.stdout.split(";")), strict=True))
    for text in sql.values():
        assert text.startswith("select case_id"), text[:500]
    return sql


def _values(sql: str) -> dict[str, dict[str, str | None]]:
    with duckdb.connect() as connection:
        connection.execute("create table cases (case_id varchar, context varchar)")
        connection.executemany("insert into cases values (?, ?)", list(CONTEXTS.items()))
        frame = connection.sql(sql).df().set_index("case_id")
    return frame.astype(object).where(frame.notna(), None).to_dict(orient="index")


def test_list_gives_each_key_as_alone(compiled):
    assert "json_extract_string(context, ['$.platform'" in compiled["list"]  # one parse on DuckDB
    for case_id, row in _values(compiled["list"]).items():
        for key in KEYS:
            assert row[f"list_{key}"] == row[f"one_{key}"], (case_id, key)


def test_list_matches_python_json(compiled):
    """Strings come back unquoted and unescaped, absent keys and JSON null as null, other
    values as their JSON text (compared after parsing it again)."""
    values = _values(compiled["list"])
    for case_id, text in CONTEXTS.items():
        document = json.loads(text) if text is not None else {}
        for key in KEYS:
            got = values[case_id][f"list_{key}"]
            expected = document.get(key)
            if expected is None:
                assert got is None, (case_id, key, got)
            elif isinstance(expected, str):
                assert got == expected, (case_id, key, got)
            else:
                assert json.loads(got) == expected, (case_id, key, got)
    assert values["full"]["list_platform"] == "ios" and values["escaped_quote"]["list_error_code"] == 'E"42"'


def test_list_item_is_positional(compiled):
    """A negative control: the positions matter (platform is not app_version)."""
    row = _values(compiled["list"])["full"]
    assert row["list_platform"] != row["list_app_version"]


ROWS = {
    "nulls_and_empty": (None, "", "x"),
    "empty_and_nulls": ("", None, None),
    "separator_inside": ("a|b", "c", ""),
    "separator_moved": ("a", "b|c", ""),
    "unicode": ("caf\u00e9", "\u2603", "n"),
    "payload": ('{"k":"' + "v" * 5000 + '"}', "s", None),
}


def _python_hash(values: tuple[str | None, ...]) -> str:
    text = "|".join("n" if value is None else "s" + value for value in values)
    return hashlib.md5(text.encode("utf-8")).hexdigest()


def test_row_hash_is_md5_of_the_documented_text(compiled):
    assert "concat(" in compiled["hash"]
    with duckdb.connect() as connection:
        connection.execute("create table rows (case_id varchar, a varchar, b varchar, c varchar)")
        connection.executemany("insert into rows values (?, ?, ?, ?)", [(k, *v) for k, v in ROWS.items()])
        hashes = dict(connection.sql(compiled["hash"]).fetchall())
    assert hashes == {case_id: _python_hash(values) for case_id, values in ROWS.items()}
    # null and empty string, and a separator inside a value, hash differently
    assert len(set(hashes.values())) == len(ROWS)
