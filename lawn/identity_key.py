"""The secret key behind every pseudonymous identifier handed to a vendor (``account_key``,
``person_key``, ``email_key``: HMAC-SHA256 of the id under this key).

The key never passes through dbt: Python writes HMAC's two padded keys (RFC 2104: the key,
zero-padded to 64 bytes, XOR 0x36 and XOR 0x5c) into ``ops.identity_hash_key`` before dbt
runs, and the ``keyed_hash`` macro reads them from there, so compiled SQL, ``target/``,
``manifest.json``, ``run_results.json`` and ``logs/`` hold only the table's name.

Where the key comes from, in order:
1. ``LAWN_IDENTITY_HASH_KEY`` (set but empty is an error: an unset CI secret expands to "");
2. ``LAWN_IDENTITY_HASH_KEY_FILE`` (a file holding the key; trailing newline ignored);
3. only for local/demo use (``lawn build``, or ``lawn nightly --dev``): a random key generated
   once into ``.lawn/identity_hash.key`` (git-ignored, mode 0600). Nothing else: there is no
   built-in default key.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

import duckdb

from lawn.landing import LandingTable, landing_table
from lawn.paths import REPO_ROOT

ENV_KEY = "LAWN_IDENTITY_HASH_KEY"
ENV_KEY_FILE = "LAWN_IDENTITY_HASH_KEY_FILE"
LOCAL_KEY_FILE = REPO_ROOT / ".lawn" / "identity_hash.key"
MIN_KEY_BYTES = 16
BLOCK = 64  # sha256's block size


class HashKeyError(ValueError):
    """No usable key (one line; exit 2)."""


@dataclass(frozen=True)
class IdentityKey:
    secret: bytes
    origin: str  # env, file or local-dev

    @property
    def key_id(self) -> str:
        """A fingerprint that names the key without revealing it (HMAC of a fixed label)."""
        return hmac.new(self.secret, b"lawn-identity-key-id", hashlib.sha256).hexdigest()[:16]


def pads(secret: bytes) -> tuple[bytes, bytes]:
    """HMAC-SHA256's inner and outer padded keys (RFC 2104)."""
    key = hashlib.sha256(secret).digest() if len(secret) > BLOCK else secret
    key = key.ljust(BLOCK, b"\x00")
    return bytes(b ^ 0x36 for b in key), bytes(b ^ 0x5C for b in key)


def keyed_hash(secret: bytes, value: str) -> str:
    """What ``{{ keyed_hash(...) }}`` computes in SQL: HMAC-SHA256 hex of the UTF-8 value."""
    return hmac.new(secret, value.encode(), hashlib.sha256).hexdigest()


def _checked(secret: bytes, where: str) -> bytes:
    if not secret:
        raise HashKeyError(f"{where} is set but empty (an unset CI secret?): refusing to hash with no key")
    if len(secret) < MIN_KEY_BYTES:
        raise HashKeyError(
            f"{where} is too short: use at least {MIN_KEY_BYTES} bytes (`openssl rand -hex 32`)"
        )
    return secret


def configured_key() -> IdentityKey | None:
    """The key from the environment (variable or file), or None when neither is set."""
    if ENV_KEY in os.environ:
        return IdentityKey(_checked(os.environ[ENV_KEY].encode(), ENV_KEY), "env")
    if ENV_KEY_FILE in os.environ:
        path = Path(os.environ[ENV_KEY_FILE])
        try:
            text = path.read_bytes().rstrip(b"\r\n")
        except OSError as exc:
            raise HashKeyError(f"{ENV_KEY_FILE}={path}: cannot read it ({exc.strerror})") from exc
        return IdentityKey(_checked(text, f"{ENV_KEY_FILE}={path}"), "file")
    return None


def local_dev_key(path: Path | None = None) -> IdentityKey:
    """The checkout's own random key, generated on first use (demo and local builds only)."""
    path = path or LOCAL_KEY_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_hex(32) + "\n")
    return IdentityKey(_checked(path.read_bytes().rstrip(b"\r\n"), str(path)), "local-dev")


def resolve_key(dev: bool) -> IdentityKey:
    """The configured key; without one, the local development key only when ``dev``."""
    key = configured_key()
    if key is not None:
        return key
    if dev:
        return local_dev_key()
    raise HashKeyError(
        f"no identity hash key: set {ENV_KEY} or {ENV_KEY_FILE} (the nightly hands pseudonymous ids "
        "to vendors and never uses a default key); --dev uses this checkout's local key instead"
    )


def _key_table() -> LandingTable:
    """ops.identity_hash_key as defined in models/staging/ops/_ops__sources.yml (written
    before dbt runs, so Python creates it when missing, as the dbt hook would)."""
    return landing_table("ops.identity_hash_key")


def install_key(db_path: Path, key: IdentityKey) -> str:
    """Write the key's padded forms into ``ops.identity_hash_key`` (one row; replaced when the
    key changes). Returns a note when a different key was replaced (every pseudonymous id
    then changes)."""
    inner, outer = pads(key.secret)
    with duckdb.connect(str(db_path)) as con:
        table = _key_table()
        con.execute(table.duckdb_ddl())
        old = [row[0] for row in con.execute("select key_id from ops.identity_hash_key").fetchall()]
        if old == [key.key_id]:
            return ""
        con.execute("begin transaction")
        con.execute("delete from ops.identity_hash_key")
        row = {
            "key_id": key.key_id,
            "inner_pad_hex": inner.hex(),
            "outer_pad_hex": outer.hex(),
            "key_origin": key.origin,
            "installed_at": dt.datetime.now(dt.UTC).replace(tzinfo=None),
        }
        con.execute(table.insert_values_sql(), [row[column] for column in table.column_names])
        con.execute("commit")
    return (
        f"identity hash key changed ({old[0]} -> {key.key_id}): every pseudonymous key changes" if old else ""
    )


def scrubbed_env(env: dict[str, str]) -> dict[str, str]:
    """The environment for dbt, without the key: dbt must never see it."""
    return {name: value for name, value in env.items() if name not in (ENV_KEY, ENV_KEY_FILE)}
