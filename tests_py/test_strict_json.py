"""Strict JSON (RFC 8259): the is_valid_json macro, compiled by dbt and run on DuckDB, against
hand-written verdicts (tests_py/fixtures/json/json_cases.csv) and against Python's parser
(strict but for NaN/Infinity, which expectations.strict_json_object refuses) on random
documents and random lenient mutations of them."""

from __future__ import annotations

import json
import random

import duckdb
import pandas as pd
import pytest

from tests_py.conftest import run_dbt
from tests_py.expectations import strict_json_object
from tests_py.fixture_feeds import FIXTURES, read_csv

CHECK_SQL = (
    "select case_id, {{ is_valid_json('json_text') }} as is_valid, "
    "{{ json_parses_as_object('json_text') }} as engine_parses, "
    "{{ json_has_strict_tokens('json_text') }} as has_strict_tokens from cases"
)


@pytest.fixture(scope="module")
def compiled_check(tmp_path_factory) -> str:
    work = tmp_path_factory.mktemp("compile_json")
    result = run_dbt(["compile", "--quiet", "--inline", CHECK_SQL], work / "lawn.duckdb", work)
    sql = result.stdout.strip()
    assert sql.startswith("select case_id"), sql[:500]
    return sql


def _judge(sql: str, texts: dict[str, str | None]) -> pd.DataFrame:
    with duckdb.connect() as connection:
        connection.execute("create table cases (case_id varchar, json_text varchar)")
        connection.executemany("insert into cases values (?, ?)", list(texts.items()))
        return connection.sql(sql).df().set_index("case_id")


def test_hand_written_cases(compiled_check):
    cases = read_csv(FIXTURES / "json" / "json_cases.csv").fillna({"text": ""}).set_index("case_id")
    verdicts = _judge(compiled_check, cases["text"].to_dict())
    expected = cases["is_rfc_json_object"] == "true"
    wrong = verdicts.index[verdicts["is_valid"] != expected]
    assert list(wrong) == [], cases.loc[wrong, ["text", "note"]].to_string()
    python = cases["text"].map(lambda text: strict_json_object(text) is not None)
    assert (python == expected).all()
    assert verdicts["is_valid"].sum() == expected.sum() >= 9


def test_token_check_rejects_what_the_engine_lets_through(compiled_check):
    """DuckDB's parser alone accepts trailing commas and NaN/Infinity; the token check is what
    rejects them, and it never rejects a valid document."""
    cases = read_csv(FIXTURES / "json" / "json_cases.csv").fillna({"text": ""}).set_index("case_id")
    verdicts = _judge(compiled_check, cases["text"].to_dict())
    expected = cases["is_rfc_json_object"] == "true"
    lenient = verdicts.index[verdicts["engine_parses"] & ~expected]
    assert {"trailing_comma_object", "trailing_comma_array", "nan", "infinity"} <= set(lenient)
    assert not verdicts.loc[lenient, "has_strict_tokens"].any()
    assert verdicts.loc[expected[expected].index, "has_strict_tokens"].all()


def _random_value(rng: random.Random, depth: int) -> object:
    kind = rng.choice(["int", "float", "string", "bool", "null"] + (["object", "array"] if depth < 3 else []))
    if kind == "int":
        return rng.choice([0, -0, 7, -12, 10 ** rng.randint(0, 12)])
    if kind == "float":
        return rng.choice([0.5, -1.25, 3e-7, 1.5e21, 12.0])
    if kind == "string":
        alphabet = 'ab "\\/\n\t\u00e9{}[],:01'
        return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 8)))
    if kind == "bool":
        return rng.random() < 0.5
    if kind == "null":
        return None
    if kind == "array":
        return [_random_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    return {f"k{i}": _random_value(rng, depth + 1) for i in range(rng.randint(0, 4))}


def _mutate(rng: random.Random, text: str) -> str:
    """One edit of the kind a lenient serializer or a hand-edited payload makes."""
    edits = [
        lambda t: t.replace("}", ",}", 1),
        lambda t: t.replace("]", ",]", 1),
        lambda t: t.replace(": 7", ": NaN", 1).replace(": 0", ": Infinity", 1),
        lambda t: t.replace(": 7", ": 07", 1).replace(": 12.0", ": +12.0", 1),
        lambda t: t.replace(": 0.5", ": .5", 1).replace(": 0", ": 0x0", 1),
        lambda t: t.replace('"k0"', "'k0'", 1),
        lambda t: t.replace('"k1"', "k1", 1),
        lambda t: t.replace(", ", " ", 1),
        lambda t: t.replace("{", "{/* c */", 1),
        lambda t: t + " //",
        lambda t: t.replace("\\t", "\t", 1),
        lambda t: t.replace("true", "True", 1),
        lambda t: t + t,
    ]
    return rng.choice(edits)(text)


def test_random_documents_and_mutations_agree_with_python(compiled_check):
    rng = random.Random(20261129)
    texts: dict[str, str] = {}
    for i in range(300):
        document = {f"k{j}": _random_value(rng, 1) for j in range(rng.randint(0, 5))}
        indent = rng.choice([None, 0, 2])
        text = json.dumps(document, indent=indent, ensure_ascii=rng.random() < 0.5)
        texts[f"doc{i}"] = text
        texts[f"mut{i}"] = _mutate(rng, text)
    verdicts = _judge(compiled_check, texts)["is_valid"]
    python = pd.Series({key: strict_json_object(text) is not None for key, text in texts.items()})
    disagree = python.index[verdicts.reindex(python.index) != python]
    assert list(disagree) == [], {key: texts[key] for key in disagree[:5]}
    # both kinds are well represented: every document is valid, most mutations are not
    assert python[[f"doc{i}" for i in range(300)]].all()
    assert (~python[[f"mut{i}" for i in range(300)]]).sum() > 150


# what a hand edit, a lenient serializer or a broken exporter puts into a payload
# fmt: off
_FUZZ_PIECES = [
    " ", "\t", "\n", "\r", "\f", "\v", "\x01", "\x1f", "\x7f", ",", "]", "}", "{", "[", ":", '"', "'",
    "\\", "/", "*", "#", "NaN", "nan", "NAN", "Infinity", "-Infinity", "inf", "-inf", "Inf",
    "infinity", "1e999", "-", "+", ".", "e", "0", "00", "x", "\\u", "\\x", "\\ud800", "true",
    "True", "null", "None", "\u00a0", "\ufeff", "\u2028", "01", "0x1F", "1.", ".5", "//", "/*",
]
# fmt: on


def _fuzzed_texts(rng: random.Random, count: int) -> dict[str, str]:
    texts = {}
    for i in range(count):
        document = {f"k{j}": _random_value(rng, 1) for j in range(rng.randint(0, 4))}
        text = json.dumps(document, indent=rng.choice([None, 0, 2]))
        for _ in range(rng.randint(1, 3)):
            at, piece, edit = rng.randrange(len(text) + 1), rng.choice(_FUZZ_PIECES), rng.random()
            if edit < 0.5:
                text = text[:at] + piece + text[at:]
            elif edit < 0.8:
                text = text[:at] + piece + text[at + len(piece) :]
            else:
                text = text[:at] + text[at + 1 :]
        texts[f"fuzz{i}"] = text
    return texts


@pytest.fixture(scope="module")
def compiled_shortcut(tmp_path_factory) -> str:
    work = tmp_path_factory.mktemp("compile_json_shortcut")
    sql = (
        "select case_id, {{ is_valid_json('json_text') }} as is_valid, "
        "coalesce({{ json_parses_as_object('json_text') }} and {{ json_has_strict_tokens('json_text') }}, "
        "false) as is_valid_without_shortcut, {{ json_may_be_lenient('json_text') }} as may_be_lenient, "
        "{{ json_parses_as_object('json_text') }} as engine_parses from cases"
    )
    result = run_dbt(["compile", "--quiet", "--inline", sql], work / "lawn.duckdb", work)
    assert result.stdout.strip().startswith("select case_id"), result.stdout[:500]
    return result.stdout.strip()


def test_skipping_the_token_check_never_changes_a_verdict(compiled_shortcut):
    """DuckDB's is_valid_json skips the costly token check where json_may_be_lenient says the
    parser cannot have read the text leniently. On fuzzed payloads (random edits with the
    pieces lenient writers produce), every text DuckDB's parser accepts but RFC 8259 does not
    is flagged, so the shortcut gives the verdict of the full check and of Python's parser."""
    texts = _fuzzed_texts(random.Random(20261130), 6000)
    cases = read_csv(FIXTURES / "json" / "json_cases.csv").fillna({"text": ""})
    texts.update(dict(zip(cases["case_id"], cases["text"], strict=True)))
    verdicts = _judge(compiled_shortcut, texts)
    python = pd.Series({key: strict_json_object(text) is not None for key, text in texts.items()})
    assert (verdicts["is_valid"] == verdicts["is_valid_without_shortcut"]).all()
    # an unpaired surrogate escape (\\ud800 alone) matches RFC 8259's grammar, and its section 8.2
    # leaves what a parser does with it open: Python accepts it, DuckDB's parser refuses it
    comparable = [key for key in verdicts.index if "\\ud8" not in texts[key]]
    differ = [key for key in comparable if verdicts.at[key, "is_valid"] != python[key]]
    assert differ == [], {key: texts[key] for key in differ[:8]}
    assert len(comparable) > 5000
    lenient = [key for key in comparable if verdicts.at[key, "engine_parses"] and not python[key]]
    assert verdicts.loc[lenient, "may_be_lenient"].all()
    # the fuzz has power: it holds every extension DuckDB's parser accepts (a shortcut that
    # forgot one of them would pass such a text), and most accepted texts skip the check
    kinds = {
        "nan": r"(?i)nan",
        "inf": r"(?i)inf",
        "trailing comma": r",\s*[\]}]",
    }
    for kind, pattern in kinds.items():
        assert pd.Series([texts[key] for key in lenient]).str.contains(pattern).any(), kind
    accepted = verdicts[verdicts["is_valid"]]
    assert len(accepted) > 300 and (~accepted["may_be_lenient"]).mean() > 0.8
