"""Ids written as a null marker (`\\N` from a MySQL/PostgreSQL text export, `NULL`, `None`,
`N/A`, `nan` or a blank cell from a spreadsheet) are missing, never an account or a user.
The probe of 2026-12-01 found accounts `\\N` and `NULL` in marts.dim_accounts. The feed is
hand-written (tests_py/fixtures/null_markers); the expected accounts and users are computed
here from it with a list of markers written in this file, not read from the seed."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from lawn.cli import app
from tests_py.conftest import query, run_dbt

FIXTURE = Path(__file__).parent / "fixtures" / "null_markers"
# what the feed writes for "no value", compared as staging does (trimmed, any case)
MARKERS = {"", "\\n", "null", "none", "n/a", "nan"}
runner = CliRunner()


def _real(values: pd.Series) -> set[str]:
    return {value.strip() for value in values.fillna("") if value.strip().lower() not in MARKERS}


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("null_markers")
    run_dbt(
        [
            "build",
            "--select",
            "+dim_accounts",
            "+fct_events",
            "--indirect-selection",
            "cautious",
            "--exclude-resource-type",
            "unit_test",
        ],
        work / "lawn.duckdb",
        work,
        raw_dir=FIXTURE,
    )
    return work / "lawn.duckdb"


def _feed(name: str) -> pd.DataFrame:
    return pd.read_csv(FIXTURE / f"{name}.csv", dtype="string", keep_default_na=False, na_values=[])


def test_no_null_marker_becomes_an_account(built):
    events, crm = _feed("raw_events"), _feed("crm_accounts")
    expected = _real(events["account_id"]) | _real(crm["account_id"])
    assert expected == {"acc_1", "acc_2", "acc_3"}  # the feed is what its README says
    accounts = query(built, "select account_id, email_domain from marts.dim_accounts")
    assert set(accounts["account_id"]) == expected
    domains = dict(zip(accounts["account_id"], accounts["email_domain"], strict=True))
    assert {account for account, domain in domains.items() if pd.notna(domain)} == {
        account
        for account, domain in zip(crm["account_id"], crm["email_domain"], strict=True)
        if domain.strip().lower() not in MARKERS
    }


def test_null_marker_ids_are_missing_on_the_events(built):
    events = _feed("raw_events").set_index("event_id")
    landed = query(
        built, "select event_id, anonymous_id, device_id, user_id, account_id from marts.fct_events"
    ).set_index("event_id")
    assert set(landed.index) == set(events.index)  # every event valid, none lost
    for column in ("anonymous_id", "device_id", "user_id", "account_id"):
        expected = {
            event: value.strip()
            for event, value in events[column].items()
            if value.strip().lower() not in MARKERS
        }
        assert landed[column].dropna().to_dict() == expected, column


def test_a_crm_account_id_that_is_a_null_marker_is_refused_as_empty(tmp_path):
    """The CRM's key must be there on every row: `NULL` is not a key (staging would read it as
    missing and its not_null test fail the build)."""
    raw = tmp_path / "raw"
    shutil.copytree(FIXTURE, raw)
    crm = (raw / "crm_accounts.csv").read_text().replace("\nacc_3,", "\n NULL ,")
    (raw / "crm_accounts.csv").write_text(crm)
    result = runner.invoke(app, ["validate-raw", "--raw-dir", str(raw)])
    assert result.exit_code == 2 and "Traceback" not in result.output
    [line] = [line for line in result.output.splitlines() if line.strip()]
    assert (
        "crm_accounts.csv: column 'account_id' is empty or a null marker (NULL, \\N, N/A, ...) in 1 row(s), "
        "first at data row 3"
    ) in line
