"""Settings live in one place (lawn/settings.py reads dbt_project.yml) and dbt runs one way
(lawn/dbt_runner.py): every Python figure that mirrors a dbt var is checked against the value
dbt itself resolves, and every declared var must be read by SQL or by listed Python."""

from __future__ import annotations

import datetime as dt
import inspect
import json
import re
from pathlib import Path

import click
import pytest
import typer
from typer.testing import CliRunner

from lawn import actions, dbt_parse_cache, identity_weights, nightly, readout, settings
from lawn.cli import app
from lawn.dbt_runner import dbt_invocation, run_dbt
from lawn.identity_key import ENV_KEY, ENV_KEY_FILE, install_key
from lawn.paths import MODEL_STORE_DIR, REPO_ROOT
from tests_py import expectations
from tests_py.conftest import TEST_HASH_KEY

runner = CliRunner()
SQL_DIRS = ["models", "macros", "tests", "snapshots", "analyses"]


def _declared_vars() -> list[str]:
    """Var names as written in dbt_project.yml, read as text (not through lawn/settings.py)."""
    text = (REPO_ROOT / "dbt_project.yml").read_text()
    block = text[text.index("\nvars:\n") + len("\nvars:\n") :]
    block = block[: re.search(r"^\S", block, re.MULTILINE).start()]
    return re.findall(r"^  ([a-z_0-9]+):", block, re.MULTILINE)


@pytest.fixture(scope="module")
def resolved(tmp_path_factory) -> dict:
    """What dbt itself resolves for every declared var, compiled once through the dbt runner,
    with the identity key set in this process to prove the runner keeps it from dbt."""
    work = tmp_path_factory.mktemp("settings")
    db = work / "settings.duckdb"
    install_key(db, TEST_HASH_KEY)
    names = _declared_vars()
    pairs = ", ".join(f"{name!r}: var({name!r})" for name in names)
    inline = (
        f"{{{{ tojson({{{pairs}, '__key': env_var({ENV_KEY!r}, 'absent'), "
        f"'__key_file': env_var({ENV_KEY_FILE!r}, 'absent')}}) }}}}"
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(ENV_KEY, TEST_HASH_KEY.secret.decode())
        patch.setenv(ENV_KEY_FILE, str(work / "no-such.key"))
        done = run_dbt(["compile", "--quiet", "--inline", inline], db, target_path=work / "target")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    return json.loads(done.stdout[done.stdout.index("{") : done.stdout.rindex("}") + 1])


def test_dbt_never_sees_the_identity_key(resolved):
    assert (resolved["__key"], resolved["__key_file"]) == ("absent", "absent")


def test_settings_reads_the_vars_dbt_resolves(resolved):
    declared = {name: resolved[name] for name in _declared_vars()}
    assert settings.dbt_vars() == declared


def _option_default(path: list[str], option: str):
    command: click.Command = typer.main.get_command(app)
    for name in path:
        command = command.commands[name]
    return next(param.default for param in command.params if param.name == option)


def _default(function, parameter: str):
    return inspect.signature(function).parameters[parameter].default


def test_python_mirrors_and_cli_defaults_equal_the_vars(resolved):
    mirrors = {
        "readout.MIN_WELCH_DF": (readout.MIN_WELCH_DF, "experiment_min_welch_df"),
        "identity_weights.CONCURRENT_MIN_DAYS": (
            identity_weights.CONCURRENT_MIN_DAYS,
            "identity_concurrent_min_days",
        ),
        "lawn readout --sequential-relative-tau": (
            _option_default(["readout"], "sequential_relative_tau"),
            "sequential_relative_tau",
        ),
        "lawn identity-weights --prior": (
            _option_default(["identity-weights"], "prior"),
            "identity_match_prior",
        ),
        "estimate_match_weights(prior)": (
            _default(identity_weights.estimate_match_weights, "prior"),
            "identity_match_prior",
        ),
        "lawn actions export --max-age-days": (
            _option_default(["actions", "export"], "max_age_days"),
            "action_max_age_days",
        ),
        "lawn nightly --action-max-age-days": (
            _option_default(["nightly"], "action_max_age_days"),
            "action_max_age_days",
        ),
        "NightlyConfig.action_max_age_days": (
            nightly.NightlyConfig.__dataclass_fields__["action_max_age_days"].default,
            "action_max_age_days",
        ),
        "export_actions(max_age_days)": (
            _default(actions.export_actions, "max_age_days"),
            "action_max_age_days",
        ),
        "settings.SRM_ALPHA": (settings.SRM_ALPHA, "srm_alpha"),
        "expectations.MAX_PAYLOAD_CHARACTERS": (
            expectations.MAX_PAYLOAD_CHARACTERS,
            "max_payload_characters",
        ),
        "expected_reasons(skew_minutes)": (
            _default(expectations.expected_reasons, "skew_minutes"),
            "clock_skew_tolerance_minutes",
        ),
        "expected_reasons(max_age_days)": (
            _default(expectations.expected_reasons, "max_age_days"),
            "max_event_age_days",
        ),
        "expectations.RECEIVED_AT_MAX_FUTURE": (
            expectations.RECEIVED_AT_MAX_FUTURE / dt.timedelta(minutes=1),
            "received_at_max_future_minutes",
        ),
        "expectations.RECEIVED_AT_EARLIEST": (
            expectations.RECEIVED_AT_EARLIEST.date().isoformat(),
            "received_at_earliest_date",
        ),
    }
    differ = {where: (value, var) for where, (value, var) in mirrors.items() if value != resolved[var]}
    assert not differ, f"Python differs from dbt_project.yml vars: {differ}"


def test_every_var_is_read_by_sql_or_by_listed_python():
    sql = "\n".join(
        path.read_text()
        for folder in SQL_DIRS
        for path in (REPO_ROOT / folder).rglob("*")
        if path.suffix in {".sql", ".yml", ".yaml"}
    )
    unread = {name for name in _declared_vars() if not re.search(rf"var\(\s*['\"]{name}['\"]", sql)}
    assert unread == set(settings.PYTHON_ONLY_VARS), "read by no SQL: list it in PYTHON_ONLY_VARS or drop it"
    python = "\n".join(
        path.read_text() for path in (REPO_ROOT / "lawn").rglob("*.py") if path.name != "settings.py"
    )
    for name in unread:
        constant = name.upper()
        assert re.search(rf"\b{constant}\b", python), (
            f"{name}: no Python outside settings.py reads {constant}"
        )


def test_default_paths_are_under_the_repository_not_the_cwd():
    stores = {
        _option_default(["model", command], "store") for command in ("train", "score", "monitor", "rollback")
    }
    assert stores == {_option_default(["nightly"], "model_store")} == {MODEL_STORE_DIR}
    assert MODEL_STORE_DIR.is_absolute() and MODEL_STORE_DIR.is_relative_to(REPO_ROOT)
    assert Path(_option_default(["identity-weights"], "output")).is_relative_to(REPO_ROOT)


def test_identity_weights_reads_the_warehouse_from_lawn_duckdb_path(tmp_path, monkeypatch):
    missing = tmp_path / "elsewhere" / "warehouse.duckdb"
    monkeypatch.setenv("LAWN_DUCKDB_PATH", str(missing))
    result = runner.invoke(app, ["identity-weights"])
    assert result.exit_code == 2
    assert str(missing) in result.output.replace("\n", "")


def test_the_runner_composes_one_command_line(tmp_path, monkeypatch):
    # the runner as users get it: no parse store (the tests' conftest sets one)
    monkeypatch.delenv(dbt_parse_cache.CACHE_ENV, raising=False)
    base = {"PATH": "/usr/bin", ENV_KEY: "secret", ENV_KEY_FILE: "/k", "LAWN_DUCKDB_PATH": "/old.duckdb"}
    call = dbt_invocation(
        ["build", "--full-refresh"],
        tmp_path / "w.duckdb",
        select=["+fct_events"],
        dbt_vars={"srm_alpha": 0.01},
        target_path=tmp_path / "target",
        base_env=base,
    )
    assert call.env == {"PATH": "/usr/bin", "LAWN_DUCKDB_PATH": str(tmp_path / "w.duckdb")}
    assert call.cwd == REPO_ROOT
    line = call.command
    assert line[1:3] == ["build", "--full-refresh"]
    assert line[line.index("--select") + 1] == "+fct_events"
    assert line[line.index("--project-dir") + 1] == line[line.index("--profiles-dir") + 1] == str(REPO_ROOT)
    assert (
        line[line.index("--target-path") + 1]
        == line[line.index("--log-path") + 1]
        == str(tmp_path / "target")
    )
    assert json.loads(line[line.index("--vars") + 1]) == {"srm_alpha": 0.01}
    assert "--vars" not in dbt_invocation(["parse"], None, base_env=base).command
    assert dbt_invocation(["parse"], None, base_env=base).env["LAWN_DUCKDB_PATH"] == "/old.duckdb"
    # with a parse store (lawn/dbt_parse_cache.py) dbt runs in the warehouse's folder and is
    # given its file name, so that warehouses of one name share a stored parse
    monkeypatch.setenv(dbt_parse_cache.CACHE_ENV, str(tmp_path / "store"))
    stored = dbt_invocation(["build"], tmp_path / "w.duckdb", target_path=tmp_path / "t", base_env=base)
    assert stored.cwd == tmp_path and stored.env["LAWN_DUCKDB_PATH"] == "w.duckdb"
    plain = dbt_invocation(["build"], tmp_path / "w.duckdb", target_path=tmp_path / "t")
    assert stored.command == plain.command  # the same dbt command line either way


def test_the_calendar_starts_no_later_than_the_earliest_accepted_receive_day(resolved):
    """Every event staging accepts falls inside the calendar (int_calendar_days, the MRR and
    volume spines, MetricFlow's time spine): a later start moved older history silently into
    the calendar's first month (MRR from 2023 counted as `new` in January 2024)."""
    start = dt.date.fromisoformat(str(resolved["calendar_start_date"]))
    assert start <= dt.date.fromisoformat(str(resolved["received_at_earliest_date"]))
