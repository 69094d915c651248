"""An erased person named inside other rows' text: another person's NPS comment ("Alice Ng
(alice.ng@acme.com) set it up for us"), an error message ("invoice for u_alice failed"), a
CRM account keyed by the person's email (a sole trader).

Found by keyed hash, never by the clear value, so erasure (`lawn.privacy`, after it wrote the
tombstones) and every later landing (`lawn.privacy_landing`, which has only the tombstones)
find the same mentions and write the same placeholder, and a raw table landed again in full
after an erasure (docs/landing_increments.md) equals the one the erasure redacted:

- every email-shaped token of a text (a row holding ``@``) whose keyed hash of
  ``email:<normal form>`` is a tombstone becomes ``erased-<16 hex of that hash>@erased.invalid``
  (still an email, unique per person: a CRM key stays a key, two erased sole traders do not
  collide);
- with ``user_ids``, every word of a free text (in a JSON column, a string value holding white
  space; in a plain column, a cell holding white space) whose keyed hash of
  ``user_id:<normal form>`` is a tombstone becomes ``erased-<16 hex>``, as the inviter id of a
  signup does (lawn/privacy_maps.py). A user id alone in a property other than
  ``invited_by_user_id`` is not looked for: every value of every event would be hashed.

Tokens are whole (lawn/privacy_sweep.py ``value_pattern``: ``u_alice`` never matches inside
``u_alice2``), compared in lower case."""

from __future__ import annotations

import re

import duckdb

from lawn.privacy_maps import REDACTED_DOMAIN, TOMBSTONED_EMAILS, TOMBSTONED_USER_IDS, hash_sql, normalize_sql
from lawn.privacy_sweep import quoted_identifier as _quoted

EMAIL_TOKEN = r"[a-z0-9_.%+-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)+"
WORD_TOKEN = r"[a-z0-9_.@-]+"
# a JSON string literal holding white space (escaped quotes inside are not followed)
FREE_TEXT_STRING = r'"([^"\\]*\s[^"\\]*)"'
_BEFORE, _AFTER = "(^|[^a-z0-9_.@-])", "($|[^a-z0-9_@-])"


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _hits(con: duckdb.DuckDBPyConnection, relation: str, column: str, in_json: bool, user_ids: bool) -> list:
    """(token, placeholder) of every erased person's token in ``column`` of ``relation``."""
    text = f"lower(cast({_quoted(column)} as varchar))"
    queries = [
        f"select distinct token, 'erased-' || left(hashed, 16) || '@{REDACTED_DOMAIN}' from ("
        f" select token, {hash_sql(chr(39) + 'email:' + chr(39) + ' || ' + normalize_sql('token'))} as hashed"
        f" from (select distinct unnest(regexp_extract_all({text}, {_literal(EMAIL_TOKEN)})) as token"
        f" from {relation} where contains({text}, '@')))"
        f" where hashed in ({TOMBSTONED_EMAILS})"
    ]
    if user_ids:
        free = (
            f"unnest(regexp_extract_all({text}, {_literal(FREE_TEXT_STRING)}, 1))"
            if in_json
            else f"case when regexp_matches({text}, '\\s') then {text} end"
        )
        queries.append(
            f"select distinct token, 'erased-' || left(hashed, 16) from ("
            f" select token, {hash_sql(chr(39) + 'user_id:' + chr(39) + ' || ' + normalize_sql('token'))}"
            f" as hashed from (select distinct unnest(regexp_extract_all(free, {_literal(WORD_TOKEN)}))"
            f" as token from (select {free} as free from {relation}) where free is not null))"
            f" where hashed in ({TOMBSTONED_USER_IDS})"
        )
    found = []
    for query in queries:
        found += con.execute(query).fetchall()
    return found


def redact_mentions(
    con: duckdb.DuckDBPyConnection,
    relation: str,
    columns: list[str],
    in_json: bool = True,
    user_ids: bool = True,
) -> int:
    """Replace the erased persons' tokens in ``columns`` of ``relation`` (JSON text with
    ``in_json``); the number of rows changed. Needs ops.erasure_tombstones and the installed
    key (ops.identity_hash_key)."""
    changed = 0
    for column in columns:
        hits = _hits(con, relation, column, in_json, user_ids)
        for token, placeholder in sorted(hits, key=lambda hit: -len(hit[0])):
            pattern = _literal(_BEFORE + re.escape(token) + _AFTER)
            where = f"regexp_matches(lower(cast({_quoted(column)} as varchar)), {pattern})"
            count = int(con.execute(f"select count(*) from {relation} where {where}").fetchall()[0][0])
            changed += count
            # a token right after another shares its boundary character with it: a second pass
            for _ in range(4 if count else 0):
                con.execute(
                    f"update {relation} set {_quoted(column)} = regexp_replace({_quoted(column)}, "
                    f"{pattern}, '\\1{placeholder}\\2', 'gi') where {where}"
                )
                if not con.execute(f"select count(*) from {relation} where {where}").fetchall()[0][0]:
                    break
    return changed
