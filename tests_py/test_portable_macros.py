"""Portable macros decide the same on DuckDB, PostgreSQL and Spark as an independent Python
restatement (each engine's dispatched SQL is rendered by dbt in one compile and run here on a
table of hand-written values; the staging models' unit tests run on DuckDB only):

- the staging timestamp parser (macros/portability/parse_iso_timestamp_utc.sql), as
  tests_py/expectations.py's restatement, for what exports send: offsets of every form, no
  offset (UTC), no seconds, a date alone, and values that name no instant (a day the month
  lacks, hour 24, 'T10:00Z', '2026-3-1');
- the Unicode lower case of emails and ids (macros/portability/lower_unicode.sql), as
  Python's str.lower with the two documented foldings, on every letter, mark, number and
  symbol below U+30000 and on words (the final sigma depends on its neighbours). PostgreSQL
  runs it in a C-locale database, where plain lower() leaves `Ä` as it is;
- the number reader (macros/portability/try_cast.sql) for integers, decimals and doubles:
  signs, zero fractions, exponents, values beyond each type's range, 'NaN' and 'Infinity'
  (PostgreSQL failed the whole build on an out-of-range integer; DuckDB and Spark read
  'NaN' and '1e400' as numbers);
- list membership (macros/portability/list_has_item.sql: an experiment's metrics, an
  outcome's segments) as Python's `item in list.split('|')`: `_` and `%` are not wildcards
  (a LIKE took `mid_market` for `mid-market` and `%` for every segment);
- the email shape of an id's normal form (macros/governance/is_email_shaped.sql: marts show
  an email-shaped user_id as its keyed hash) as Python's re.search of the same pattern.
- the exact time between two timestamps (macros/portability/seconds_between.sql: the days
  to a milestone) as Python's timedelta, to the microsecond, where dbt.datediff(...,
  'second') counts second boundaries (0.2 s across a second's end read as 1 s);
- the removal of whitespace and invisible characters from ids (macros/portability/
  remove_characters.sql: translate on PostgreSQL and Spark, a character class on DuckDB,
  where translate was 10x slower) as Python's restatement, on every character of the set
  alone and inside ids, next to characters a regular expression treats as special; and on
  DuckDB the whole normal form (normalize_identifier) as lawn.privacy_maps.normalize.

PostgreSQL and Spark follow the suite's rules: skipped locally without them, failing in CI."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import math
import re
import unicodedata

import duckdb
import pytest

from lawn.privacy_maps import INVISIBLE, normalize
from tests_py.expectations import parse_utc
from tests_py.scratch_dbt import render_expressions

VALUES = [
    "2026-03-01T10:00:05Z",
    "2026-03-01T10:00:05.123+0530",
    "2026-03-01 23:30:00.5-05",
    "2026-03-02 04:31:00.123456+00",
    "2026-03-01T10:00:05+05:30",
    "2026-03-01T05:00:00.123456789-05:00",  # nanoseconds (Go's RFC 3339): cut, not rounded
    "2026-03-01T23:59:59.9999999",  # rounded, it would be the next day
    "2026-03-01T10:00:05",  # no offset: UTC (refused where an offset is required)
    "2026-03-01 10:00",  # no seconds
    "2026-03-01T10:00",
    "2026-03-01",  # a date alone: its midnight
    "2026-03-01T10:00Z",  # hh:mm before a zone (Spark's cast refuses it: ':00' is added first)
    "2026-03-01T10:00+02:00",
    "2026-03-01 10:00-0530",
    "2026-03-01T10:00+14",
    "2026-03-01T10:00:05z",  # a lower-case zone: no time on any engine (DuckDB's cast refuses it)
    "2026-02-30",  # a day the month lacks
    "2026-02-30T10:00:00Z",
    "2026-03-01T24:00:00",  # hour 24
    "2026-3-1",  # not ISO 8601
    "03/01/2026",
    "yesterday",
    "",
    # the form DuckDB's fast path reads (JavaScript's toISOString()), and its edges
    "2026-03-17T08:05:34.412Z",
    "2024-02-29T23:59:59.999Z",
    "2026-02-29T08:05:34.412Z",  # no such day
    "2026-03-17T24:00:00.000Z",
    "2026-03-17T23:59:60.000Z",  # a leap second: no time to the pattern
    " 026-03-17T08:05:34.412Z",  # strptime's %Y would read year 26
]
# the three dispatched forms, with and without require_offset
MACROS = {"duckdb": "duckdb__", "postgres": "default__", "spark": "spark__"}
# regex_string has no DuckDB form: DuckDB takes the default one
REGEX_STRING_FORMS = {"duckdb": "default__", "postgres": "default__", "spark": "spark__"}
LOWER_FORMS = {"duckdb": "default__", "postgres": "postgres__", "spark": "default__"}
REMOVE_FORMS = {"duckdb": "duckdb__", "postgres": "default__", "spark": "default__"}
TRY_CAST_FORMS = {"duckdb": "duckdb__", "postgres": "default__", "spark": "spark__"}
# each engine's name of the types read (dbt.type_int() is `int` on Spark)
TRY_CAST_TYPES = {
    "duckdb": {"int": "integer", "bigint": "bigint", "decimal": "decimal(18, 2)", "double": "double"},
    "postgres": {
        "int": "integer",
        "bigint": "bigint",
        "decimal": "decimal(18, 2)",
        "double": "double precision",
    },
    "spark": {"int": "int", "bigint": "bigint", "decimal": "decimal(18, 2)", "double": "double"},
}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> dict[str, str]:
    """Each engine's expression over a column ``x``, as dbt renders the macro (one compile)."""
    work = tmp_path_factory.mktemp("portable_macros")
    parts = [
        f"{{{{ {prefix}parse_iso_timestamp_utc('x', {flag}) }}}} as {engine}_{name}"
        for engine, prefix in MACROS.items()
        for name, flag in (("any", "false"), ("offset", "true"))
    ]
    parts += [f"{{{{ {p}lower_unicode('x') }}}} as {engine}_lower" for engine, p in LOWER_FORMS.items()]
    parts += [
        f"{{{{ {TRY_CAST_FORMS[engine]}try_cast('x', '{sql_type}') }}}} as {engine}_cast_{kind}"
        for engine, types in TRY_CAST_TYPES.items()
        for kind, sql_type in types.items()
    ]
    # one form on every engine (no dispatch): replace() and ||
    parts.append("{{ list_has_item('l', 'x') }} as any_list_has_item")
    # the email-shape rule of masked ids (macros/governance/is_email_shaped.sql), per engine
    parts += [
        f"{{{{ {p}regexp_like('x', {REGEX_STRING_FORMS[engine]}regex_string(email_shape_pattern())) }}}}"
        f" as {engine}_email_shaped"
        for engine, p in MACROS.items()
    ]
    # DuckDB's fast path against its full parse (test_duckdb_fast_path_is_the_full_parse)
    parts += [
        f"{{{{ duckdb__parse_iso_timestamp_utc('trim(x)', {flag}, 'x') }}}} as duckdb_fast_{name}"
        for name, flag in (("any", "false"), ("offset", "true"))
    ]
    parts += [
        f"{{{{ duckdb_iso_timestamp_full('trim(x)', {flag}) }}}} as duckdb_full_{name}"
        for name, flag in (("any", "false"), ("offset", "true"))
    ]
    # the characters ids lose (macros/portability/remove_characters.sql), per engine, and
    # DuckDB's whole normal form of ids
    parts += [
        f"{{{{ {p}remove_characters('x', identifier_invisible_characters()) }}}} as {engine}_remove"
        for engine, p in REMOVE_FORMS.items()
    ]
    parts.append("{{ normalize_identifier('x') }} as duckdb_normalize")
    # the keys a JSON object keeps (macros/portability/json_only_keys.sql), a key left out
    # on a row where its condition holds (fct_events' email-shaped text properties)
    parts += [
        f"{{{{ {p}json_only_keys_unless('x', ['a', 'b', 'c'], {{"
        f"'a': {p}json_extract_scalar('x', \"'a'\") ~ \" like '%@%'\", "
        f"'b': {p}json_extract_scalar('x', \"'b'\") ~ \" like '%@%'\"}}) }}}} as {engine}_json_unless"
        for engine, p in MACROS.items()
    ]
    # the exact seconds between two times (macros/portability/seconds_between.sql)
    parts += [f"{{{{ {p}seconds_between('a', 'b') }}}} as {engine}_seconds" for engine, p in MACROS.items()]
    # the functions PostgreSQL's try_cast reads through (on-run-start makes them in a build)
    parts.append("{{ default__create_portable_objects() }} as postgres_objects")
    expressions = render_expressions(parts, work)
    assert set(expressions) == {f"{e}_{n}" for e in MACROS for n in ("any", "offset")} | {
        f"{e}_lower" for e in LOWER_FORMS
    } | {f"{e}_cast_{k}" for e, types in TRY_CAST_TYPES.items() for k in types} | {
        f"{e}_email_shaped" for e in MACROS
    } | {f"{e}_remove" for e in REMOVE_FORMS} | {f"{e}_seconds" for e in MACROS} | {
        f"{e}_json_unless" for e in MACROS
    } | {
        "postgres_objects",
        "any_list_has_item",
        "duckdb_normalize",
    } | {f"duckdb_{path}_{n}" for path in ("fast", "full") for n in ("any", "offset")}
    return expressions


def _expected() -> list[tuple[str, dt.datetime | None, dt.datetime | None]]:
    return [(value, parse_utc(value), parse_utc(value, require_offset=True)) for value in VALUES]


def _plain(moment: object) -> dt.datetime | None:
    if moment is None:
        return None
    assert isinstance(moment, dt.datetime), moment
    return moment.replace(tzinfo=None)


def test_the_python_restatement_reads_the_forms_as_documented():
    # independent of the SQL: the contract's reading (docs/bring_your_own_data.md) by hand
    got = {value: (any_, offset) for value, any_, offset in _expected()}
    assert got["2026-03-01"] == (dt.datetime(2026, 3, 1), None)
    assert got["2026-03-01 10:00"] == (dt.datetime(2026, 3, 1, 10), None)
    assert got["2026-03-01 23:30:00.5-05"] == (dt.datetime(2026, 3, 2, 4, 30, 0, 500000),) * 2
    # seconds are optional with an offset too (a probe, 2026-12-07: they were refused)
    assert got["2026-03-01T10:00Z"] == (dt.datetime(2026, 3, 1, 10),) * 2
    assert got["2026-03-01 10:00-0530"] == (dt.datetime(2026, 3, 1, 15, 30),) * 2
    assert got["2026-03-01T10:00:05z"] == (None, None)
    assert got["2026-03-01T05:00:00.123456789-05:00"] == (dt.datetime(2026, 3, 1, 10, 0, 0, 123456),) * 2
    assert got["2026-03-01T23:59:59.9999999"] == (dt.datetime(2026, 3, 1, 23, 59, 59, 999999), None)
    assert got["2026-02-30"] == got["2026-03-01T24:00:00"] == (None, None)


def test_duckdb_parses_as_the_restatement(rendered):
    with duckdb.connect() as con:
        con.execute("set TimeZone = 'America/New_York'")  # the session's zone must not matter
        con.execute("create table t (x varchar)")
        con.executemany("insert into t values (?)", [[v] for v in VALUES])
        rows = con.execute(
            f"select x, {rendered['duckdb_any']}, {rendered['duckdb_offset']} from t"
        ).fetchall()
    assert sorted((x, _plain(a), _plain(b)) for x, a, b in rows) == sorted(_expected())


def _mutated_times() -> list[str]:
    """Texts near the fast path's form: every one-character change of a time (any ASCII
    character, white space, Unicode digits and spaces), two-character changes into white
    space and separators, the edges of each field, and seeded random changes."""
    import random

    base = "2026-03-17T08:05:34.412Z"
    chars = [chr(c) for c in range(1, 128)] + list("\u00a0\u2007\u0663\uff13\u2163\u200b\u3000\u00b2é")
    texts = {base[:p] + c + base[p + 1 :] for p in range(len(base)) for c in chars}
    for p in range(len(base)):
        for q in range(len(base)):
            for c in " \t+-":
                text = list(base)
                text[p], text[q] = c, "0"
                texts.add("".join(text))
    for year in ("0000", "0001", "1970", "2024", "2026", "9999"):
        for month in ("00", "01", "02", "04", "12", "13"):
            for day in ("00", "01", "28", "29", "30", "31", "32"):
                for clock in ("00:00:00", "23:59:59", "24:00:00", "23:60:00", "23:59:60"):
                    texts.add(f"{year}-{month}-{day}T{clock}.412Z")
    rng = random.Random(18)
    for _ in range(30_000):
        text = list(base)
        for _ in range(rng.randint(1, 4)):
            text[rng.randrange(len(text))] = rng.choice("0123456789-T:.Z +\t\u0663")
        texts.add("".join(text))
    return sorted(texts)


def test_duckdb_fast_path_is_the_full_parse(rendered):
    """Where DuckDB's strptime fast path gives a value, it is the full parse's (pattern, then
    cast), on ~27K texts one to four characters away from its form. It must fire on many of
    them (else the comparison proves nothing), and without its digit-first guard the same
    corpus finds texts it reads wrongly (the negative control: ' 026-...' is year 26 to
    strptime)."""
    texts = _mutated_times()
    unguarded = {
        name: rendered[f"duckdb_fast_{name}"].replace("and x >= '0' and x < ':'", "")
        for name in ("any", "offset")
    }
    assert all(unguarded[name] != rendered[f"duckdb_fast_{name}"] for name in unguarded)
    with duckdb.connect() as con:
        con.execute("set TimeZone = 'Asia/Kolkata'")  # the session's zone must not matter
        con.execute("create table t (x varchar)")
        con.executemany("insert into t values (?)", [[text] for text in texts])
        for name in ("any", "offset"):
            fast, full = rendered[f"duckdb_fast_{name}"], rendered[f"duckdb_full_{name}"]
            differ = con.execute(f"select x from t where ({fast}) is distinct from ({full})").fetchall()
            assert differ == [], (name, differ[:5])
            fired = con.execute(
                "select count(*) from t where x like '____-__-__T__:__:__.___Z' "
                "and x >= '0' and x < ':' and try_strptime(x, '%Y-%m-%dT%H:%M:%S.%gZ') is not null"
            ).fetchone()[0]
            assert fired > 1_000, fired
            wrong = con.execute(
                f"select x from t where ({unguarded[name]}) is distinct from ({full})"
            ).fetchall()
            assert (" 026-03-17T08:05:34.412Z",) in wrong, (name, wrong[:5])
    assert len(texts) > 20_000


def test_postgres_parses_as_the_restatement(rendered, pg_env):
    from tests_py.pg_harness import connect

    connection = connect(pg_env, "dbt")
    try:
        with connection.cursor() as cursor:
            cursor.execute("set time zone 'America/New_York'")
            cursor.execute("create temporary table t (x text)")
            cursor.executemany("insert into t values (%s)", [(v,) for v in VALUES])
            cursor.execute(f"select x, {rendered['postgres_any']}, {rendered['postgres_offset']} from t")
            rows = cursor.fetchall()
    finally:
        connection.rollback()
        connection.close()
    assert sorted((x, _plain(a), _plain(b)) for x, a, b in rows) == sorted(_expected())


def test_spark_parses_as_the_restatement(rendered, spark):
    spark.createDataFrame([(v,) for v in VALUES], "x string").createOrReplaceTempView("t")
    # as text: Spark would hand timestamps to Python in the driver's local zone
    rows = spark.sql(
        f"select x, cast({rendered['spark_any']} as string) as a, "
        f"cast({rendered['spark_offset']} as string) as b from t"
    ).collect()
    read = [(r.x, *(None if v is None else dt.datetime.fromisoformat(v) for v in (r.a, r.b))) for r in rows]
    assert sorted(read) == sorted(_expected())


# --- Unicode lower case (lower_unicode) ---------------------------------------------------

# words: a final sigma is U+03C2 in Python, PostgreSQL's ICU and Spark, U+03C3 in DuckDB
WORDS = [
    "ÄNN.Müller@Exämple.COM",
    "ÉLODIE@Café.FR",
    "ПРИВЕТ@ПОЧТА.РФ",
    "ΟΔΥΣΣΕΥΣ@Mail.GR",
    "ΣΑΣ.ΣΑΣ",
    "ας@x.gr",
    "İSTANBUL@x.tr",
    "STRAẞE@x.de",
    "\uff21\uff22\uff23@x.jp",  # full-width ABC
    "plain@x.io",
]


def _lower_inputs() -> list[str]:
    singles = [
        chr(c)
        for c in range(0x20, 0x30000)
        if not 0xD800 <= c < 0xE000 and unicodedata.category(chr(c))[0] in "LNMS"
    ]
    return singles + WORDS


def _python_lower(value: str) -> str:
    # restated here, not imported: str.lower, then the two foldings the macro documents
    return value.replace("\u0130", "i").lower().replace("\u03c2", "\u03c3")


def _check_lower(rows: list[tuple[str, str]]) -> None:
    inputs = _lower_inputs()
    assert len(rows) == len(inputs)
    wrong = [(x, got, _python_lower(x)) for x, got in rows if got != _python_lower(x)]
    assert not wrong, wrong[:10]


def test_the_restatement_lowers_what_plain_lower_would_leave():
    assert _python_lower("ÄNN.Müller@Exämple.COM") == "änn.müller@exämple.com"
    assert _python_lower("ΟΔΥΣΣΕΥΣ") == "οδυσσευσ" and _python_lower("İSTANBUL") == "istanbul"
    assert "ς".lower() == "ς" and "İ".lower() == "i\u0307"  # what the foldings are for


def test_duckdb_lowers_as_python(rendered):
    with duckdb.connect() as con:
        con.execute("create table t as select unnest(?::varchar[]) as x", [_lower_inputs()])
        _check_lower(con.execute(f"select x, {rendered['duckdb_lower']} from t").fetchall())


def test_postgres_lowers_as_python_in_a_c_locale_database(rendered, pg_env):
    from psycopg2.extras import execute_values

    from tests_py.pg_harness import connect

    connection = connect(pg_env, "dbt")
    try:
        with connection.cursor() as cursor:
            cursor.execute("show lc_ctype")
            ctype = cursor.fetchone()[0]
            cursor.execute("create temporary table t (x text)")
            execute_values(cursor, "insert into t values %s", [(v,) for v in _lower_inputs()])
            cursor.execute(f"select x, {rendered['postgres_lower']} from t")
            rows = cursor.fetchall()
            cursor.execute("select lower('Ä') = 'Ä'")  # the trap the ICU collation avoids
            plain_lower_leaves_it = cursor.fetchone()[0]
    finally:
        connection.rollback()
        connection.close()
    _check_lower(rows)
    if ctype in ("C", "POSIX"):
        assert plain_lower_leaves_it


def test_spark_lowers_as_python(rendered, spark):
    spark.createDataFrame([(v,) for v in _lower_inputs()], "x string").createOrReplaceTempView("l")
    rows = spark.sql(f"select x, {rendered['spark_lower']} as y from l").collect()
    _check_lower([(r.x, r.y) for r in rows])


# --- numbers from text (try_cast) --------------------------------------------------------

NUMBER_TEXTS = [
    "7", "+7", "-7", "7.0", "7.", " 42 ", "0", "-0", "1.5", "-2.5", ".5", "5.", "1.2e3", "1E-2",
    "2147483647", "2147483648", "-2147483648", "-2147483649",
    "9223372036854775807", "9223372036854775808", "99999999999999999999",
    "1.005", "2.675", "-2.675", "0.125", "9999999999999999.99", "9999999999999999.995",
    "1e15", "1e16", "1e308", "1.7976931348623157e308", "1.8e308", "1e400", "-1e400",
    "1e-310", "1e-400", "-1e-400",
    "NaN", "nan", "Infinity", "-Infinity", "inf", "1,5", "1 000", "$12", "12abc", "0x1A", "1_000",
    "1e", "e5", ".", "+", "", "abc",
]  # fmt: skip
INT_RANGES = {"int": 2**31 - 1, "bigint": 2**63 - 1}
DECIMAL_PATTERN = re.compile(r"[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]+)?")
INTEGER_PATTERN = re.compile(r"[+-]?[0-9]+([.]0*)?")


def _python_number(text: str, kind: str) -> object:
    """The reading the macro documents, restated: the text (spaces trimmed) must have the
    form; an integer keeps no fraction but zeros and must fit its type; a decimal(18, 2) is
    rounded half away from zero and must have at most 16 integer digits; a double must be
    finite (too small to represent is 0)."""
    value = text.strip(" ")
    if kind in INT_RANGES:
        if not INTEGER_PATTERN.fullmatch(value):
            return None
        number = int(value.split(".")[0])
        return number if -INT_RANGES[kind] - 1 <= number <= INT_RANGES[kind] else None
    if not DECIMAL_PATTERN.fullmatch(value):
        return None
    if kind == "decimal":
        wide = decimal.Context(prec=1000, rounding=decimal.ROUND_HALF_UP)
        rounded = decimal.Decimal(value).quantize(decimal.Decimal("0.01"), context=wide)
        return rounded if abs(rounded) < 10**16 else None
    number = float(value)
    return None if math.isinf(number) else number


def _check_numbers(rows: list[tuple]) -> None:
    """rows: (text, int, bigint, decimal, double) as an engine read them."""
    assert len(rows) == len(NUMBER_TEXTS)
    wrong = []
    for text, *got in rows:
        expected = [_python_number(text, kind) for kind in ("int", "bigint", "decimal", "double")]
        read = [None if v is None else (decimal.Decimal(str(v)) if k == 2 else v) for k, v in enumerate(got)]
        if read != expected:
            wrong.append((text, read, expected))
    assert not wrong, wrong


def test_the_number_restatement_reads_as_documented():
    assert _python_number("7.0", "int") == 7 and _python_number("1.5", "int") is None
    assert _python_number("2147483648", "int") is None
    assert _python_number("2147483648", "bigint") == 2147483648
    assert _python_number("2.675", "decimal") == decimal.Decimal("2.68")
    assert _python_number("1e400", "double") is None and _python_number("1e-400", "double") == 0.0
    assert _python_number("NaN", "double") is None and _python_number(" 42 ", "int") == 42


def _number_select(rendered: dict[str, str], engine: str, table: str) -> str:
    columns = ", ".join(rendered[f"{engine}_cast_{kind}"] for kind in ("int", "bigint", "decimal", "double"))
    return f"select x, {columns} from {table}"


def test_duckdb_reads_numbers_as_documented(rendered):
    with duckdb.connect() as con:
        con.execute("create table n as select unnest(?::varchar[]) as x", [NUMBER_TEXTS])
        _check_numbers(con.execute(_number_select(rendered, "duckdb", "n")).fetchall())


def _postgres_rows(
    pg_env, table: str, rows: list[tuple], select: str, setup: str | None = None
) -> list[tuple]:
    """``select`` on PostgreSQL over a temporary ``table`` (`name (columns)`) holding ``rows``;
    ``setup`` is run and committed first. Nothing else is left behind."""
    from tests_py.pg_harness import connect

    connection = connect(pg_env, "dbt")
    try:
        with connection.cursor() as cursor:
            if setup is not None:
                cursor.execute(setup)
                connection.commit()
            cursor.execute(f"create temporary table {table}")
            placeholders = ", ".join("%s" for _ in rows[0])
            cursor.executemany(f"insert into {table.split(' ')[0]} values ({placeholders})", rows)
            cursor.execute(select)
            return cursor.fetchall()
    finally:
        connection.rollback()
        connection.close()


def test_postgres_reads_numbers_as_documented_and_never_fails(rendered, pg_env):
    rows = _postgres_rows(
        pg_env,
        "n (x text)",
        [(v,) for v in NUMBER_TEXTS],
        _number_select(rendered, "postgres", "n"),
        setup=rendered["postgres_objects"],
    )
    _check_numbers(rows)


def test_spark_reads_numbers_as_documented(rendered, spark):
    spark.createDataFrame([(v,) for v in NUMBER_TEXTS], "x string").createOrReplaceTempView("n")
    _check_numbers([tuple(row) for row in spark.sql(_number_select(rendered, "spark", "n")).collect()])


# (list, item): what a registry, an outcome seed and a CRM export hold
LIST_CASES = [
    ("mid-market|enterprise", "mid_market"),  # LIKE: `_` matched the `-`
    ("mid-market|enterprise", "%"),  # LIKE: `%` matched every list
    ("mid-market|enterprise", "enterprise"),
    ("mid-market|enterprise", "mid-market"),
    ("mid-market|enterprise", "Enterprise"),  # case counts
    ("mid-market|enterprise", "market"),  # a part of an item is not the item
    ("activated_7d|error_rate|", "error_rate"),
    ("activated_7d", "activatedX7d"),
    ("a||b", ""),
    ("smb", "smb"),
    ("smb", None),
    (None, "smb"),
]


def _check_lists(rows: list[tuple]) -> None:
    expected = [
        (items, x, None if items is None or x is None else x in items.split("|")) for items, x in LIST_CASES
    ]
    assert sorted(rows, key=repr) == sorted(expected, key=repr)


def _list_select(rendered: dict[str, str], table: str) -> str:
    return f"select l, x, {rendered['any_list_has_item']} from {table}"


def test_duckdb_matches_list_items_exactly(rendered):
    with duckdb.connect() as con:
        con.execute("create table lists (l varchar, x varchar)")
        con.executemany("insert into lists values (?, ?)", LIST_CASES)
        _check_lists(con.execute(_list_select(rendered, "lists")).fetchall())


def test_postgres_matches_list_items_exactly(rendered, pg_env):
    _check_lists(
        _postgres_rows(pg_env, "lists (l text, x text)", LIST_CASES, _list_select(rendered, "lists"))
    )


def test_spark_matches_list_items_exactly(rendered, spark):
    spark.createDataFrame(LIST_CASES, "l string, x string").createOrReplaceTempView("lists")
    _check_lists([tuple(row) for row in spark.sql(_list_select(rendered, "lists")).collect()])


# ids in normal form (lower case, no spaces): emails, near misses and opaque ids
EMAIL_SHAPE = re.compile(r"[^@]+@[^@]+[.][a-z]{2,}")
SHAPE_CASES = [
    ("bob@example.com",),
    ("jane.doe@example.co.uk",),
    ("a+tag@sub.example.io",),
    ("id:x@y.org|extra",),  # an email inside a longer id
    ("a@b@c.com",),  # a second @: c.com still follows one
    ("dev@lab01",),  # no dot after the @
    ("x@y.c",),  # one letter after the dot
    ("@example.com",),  # nothing before the @
    ("x@.com",),  # nothing between the @ and the dot
    ("usr_42",),
    ("u-carl_01",),
    ("user@host.123",),
    ("é@ü.de",),
    (None,),
]


def _check_shapes(rows: list[tuple]) -> None:
    expected = [(x, None if x is None else bool(EMAIL_SHAPE.search(x))) for (x,) in SHAPE_CASES]
    assert sorted(rows, key=repr) == sorted(expected, key=repr)
    assert sum(1 for _, shaped in expected if shaped) == 6


def test_duckdb_tells_email_shaped_ids_as_python(rendered):
    with duckdb.connect() as con:
        con.execute("create table ids (x varchar)")
        con.executemany("insert into ids values (?)", SHAPE_CASES)
        _check_shapes(con.execute(f"select x, {rendered['duckdb_email_shaped']} from ids").fetchall())


def test_postgres_tells_email_shaped_ids_as_python(rendered, pg_env):
    select = f"select x, {rendered['postgres_email_shaped']} from ids"
    _check_shapes(_postgres_rows(pg_env, "ids (x text)", SHAPE_CASES, select))


def test_spark_tells_email_shaped_ids_as_python(rendered, spark):
    spark.createDataFrame(SHAPE_CASES, "x string").createOrReplaceTempView("ids")
    rows = spark.sql(f"select x, {rendered['spark_email_shaped']} from ids").collect()
    _check_shapes([tuple(row) for row in rows])


# --- whitespace and invisible characters removed from ids (remove_characters) ----------------

REGEX_SPECIAL = ".*+?^$[](){}|\\-/'\"<>"


def _removal_cases() -> list[tuple[str | None]]:
    """Every character of the set alone, at an id's start, middle and end, all of them at
    once, and ids made of characters a regular expression treats as special."""
    cases: list[tuple[str | None]] = [(None,), ("",), ("usr_42",), (INVISIBLE,), (REGEX_SPECIAL,)]
    for ch in INVISIBLE:
        cases += [(ch,), (f"{ch}Bob@Example.com",), (f"a{ch}b",), (f"u-1{ch}",)]
        cases.append((f"{ch}{REGEX_SPECIAL}{ch}",))
    cases += [(f"{INVISIBLE}x{INVISIBLE}y",), ("\u00e9\u0663\uff13\u2163 \u00b2",), ("mailto:<Bob@x.com>.",)]
    return cases


def _check_removed(rows: list[tuple]) -> None:
    def kept(x: str | None) -> str | None:
        return None if x is None else "".join(ch for ch in x if ch not in INVISIBLE)

    expected = [(x, kept(x)) for (x,) in _removal_cases()]
    assert sorted(rows, key=repr) == sorted(expected, key=repr)
    # the cases do hold what must go and what must stay
    assert any(x and got != x for x, got in expected)
    assert any(REGEX_SPECIAL in got for _, got in expected if got)


def test_the_set_is_the_python_twins(rendered):
    """The macro's set, as the project renders it, is lawn.privacy_maps.INVISIBLE (one list,
    two languages): every character below U+3100 and the BOM, one at a time, through
    DuckDB's rendering; exactly the set comes out empty."""
    characters = [chr(c) for c in range(1, 0x3100)] + ["\ufeff"]
    with duckdb.connect() as con:
        con.execute("create table s (x varchar)")
        con.executemany("insert into s values (?)", [(ch,) for ch in characters])
        rows = con.execute(f"select x, {rendered['duckdb_remove']} from s").fetchall()
    assert len(rows) == len(characters)
    assert {x for x, y in rows if y == ""} == set(INVISIBLE)
    assert all(y == x for x, y in rows if x not in INVISIBLE)


def test_duckdb_removes_characters_as_python(rendered):
    with duckdb.connect() as con:
        con.execute("create table ids (x varchar)")
        con.executemany("insert into ids values (?)", _removal_cases())
        _check_removed(con.execute(f"select x, {rendered['duckdb_remove']} from ids").fetchall())


def test_duckdb_normal_form_of_ids_is_pythons(rendered):
    with duckdb.connect() as con:
        con.execute("create table ids (x varchar)")
        con.executemany("insert into ids values (?)", _removal_cases())
        rows = con.execute(f"select x, {rendered['duckdb_normalize']} from ids").fetchall()
    wrong = [(x, got) for x, got in rows if got != (None if x is None else normalize(x))]
    assert not wrong, wrong[:5]
    assert ("mailto:<Bob@x.com>.", "bob@x.com") in rows


def test_postgres_removes_characters_as_python(rendered, pg_env):
    select = f"select x, {rendered['postgres_remove']} from ids"
    _check_removed(_postgres_rows(pg_env, "ids (x text)", _removal_cases(), select))


def test_spark_removes_characters_as_python(rendered, spark):
    spark.createDataFrame(_removal_cases(), "x string").createOrReplaceTempView("ids")
    rows = spark.sql(f"select x, {rendered['spark_remove']} from ids").collect()
    _check_removed([tuple(row) for row in rows])


SECOND_PAIRS = [
    ("2026-01-16 10:00:00.900", "2026-01-16 10:00:01.100"),  # 0.2 s across a second's end
    ("2026-01-16 10:00:00.000001", "2026-01-16 10:00:00.000002"),
    ("2026-01-16 10:00:02.250", "2026-01-16 10:00:00"),  # earlier: negative
    ("2026-01-16 10:00:00", "2026-01-16 10:00:00"),
    ("2025-12-31 23:59:59.999999", "2026-01-01 00:00:00"),
    ("2024-02-28 12:00:00.5", "2024-03-01 12:00:00.25"),  # a leap day between
    ("2016-03-01 00:00:00", "2026-03-01 00:00:00.123456"),  # ten years
    (None, "2026-01-16 10:00:00"),
]


def _check_seconds(rows: list[tuple]) -> None:
    def exact(a: str | None, b: str | None) -> float | None:
        if a is None or b is None:
            return None
        micros = (dt.datetime.fromisoformat(b) - dt.datetime.fromisoformat(a)) // dt.timedelta(microseconds=1)
        return micros / 1_000_000

    expected = [(a, b, exact(a, b)) for a, b in SECOND_PAIRS]
    assert sorted(rows, key=repr) == sorted(expected, key=repr)  # equal doubles, not approximate
    assert (SECOND_PAIRS[0][0], SECOND_PAIRS[0][1], 0.2) in expected


def _seconds_rows(engine: str, rendered: dict[str, str], connection, table: str, rows: list[tuple]) -> list:
    """``select <columns>, <engine's seconds_between>`` over a temporary ``table`` (`name (a
    text, b text)`) holding ``rows``, on DuckDB (connection None), PostgreSQL (pg_env) or
    Spark (a session)."""
    name = table.split(" ")[0]
    select = f"select a, b, {rendered[f'{engine}_seconds']} from {name}"
    if engine == "postgres":
        return _postgres_rows(connection, table, rows, select)
    if engine == "spark":
        connection.createDataFrame(rows, "a string, b string").createOrReplaceTempView(name)
        return [tuple(row) for row in connection.sql(select).collect()]
    with duckdb.connect() as con:
        con.execute(f"create table {table.replace('text', 'varchar')}")
        con.executemany(f"insert into {name} values (?, ?)", rows)
        return con.execute(select).fetchall()


def test_duckdb_counts_seconds_as_python(rendered):
    _check_seconds(_seconds_rows("duckdb", rendered, None, "pairs (a text, b text)", SECOND_PAIRS))


def test_postgres_counts_seconds_as_python(rendered, pg_env):
    _check_seconds(_seconds_rows("postgres", rendered, pg_env, "pairs (a text, b text)", SECOND_PAIRS))


def test_spark_counts_seconds_as_python(rendered, spark):
    _check_seconds(_seconds_rows("spark", rendered, spark, "pairs (a text, b text)", SECOND_PAIRS))


# --- the keys a JSON object keeps, a key left out where its condition holds ------------------

JSON_CASES = [
    ('{"a": "x@y.com", "b": "ok", "c": 1, "d": "gone"}',),
    ('{"a": "fine", "b": "z@w.org"}',),
    ('{"a": "p@q.io", "b": "r@s.io", "c": {"n": "t@u.io"}}',),
    ('{"c": 2}',),
    ("{}",),
    (None,),
]


def _check_json_unless(rows: list[tuple]) -> None:
    """Python's restatement: the keys a, b, c; a and b left out where their text has an @."""

    def kept(text: str | None) -> dict | None:
        if text is None:
            return None
        value = json.loads(text)
        flagged = {k for k in ("a", "b") if isinstance(value.get(k), str) and "@" in value[k]}
        return {k: v for k, v in value.items() if k in ("a", "b", "c") and k not in flagged}

    found = [(x, None if y is None else json.loads(y)) for x, y in rows]
    expected = [(x, kept(x)) for (x,) in JSON_CASES]
    assert sorted(found, key=repr) == sorted(expected, key=repr)


def test_duckdb_leaves_out_the_flagged_keys_as_python(rendered):
    with duckdb.connect() as con:
        con.execute("create table j (x varchar)")
        con.executemany("insert into j values (?)", JSON_CASES)
        _check_json_unless(con.execute(f"select x, {rendered['duckdb_json_unless']} from j").fetchall())


def test_postgres_leaves_out_the_flagged_keys_as_python(rendered, pg_env):
    select = f"select x, {rendered['postgres_json_unless']} from j"
    _check_json_unless(_postgres_rows(pg_env, "j (x text)", JSON_CASES, select))


def test_spark_leaves_out_the_flagged_keys_as_python(rendered, spark):
    spark.createDataFrame(JSON_CASES, "x string").createOrReplaceTempView("j")
    rows = spark.sql(f"select x, {rendered['spark_json_unless']} from j").collect()
    _check_json_unless([tuple(row) for row in rows])
