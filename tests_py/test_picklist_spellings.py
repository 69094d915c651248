"""A CRM export whose picklists spell one value two ways (`Mid-Market` and `mid_market`,
`Paid Search` and `paid_search`) made two segments and two channels in every mart, with
only dbt's "WARN 2 value_rules_stg_crm__accounts" to say so (a probe, 2026-12-07). The
landing now names the column and the spellings; case alone is not flagged (staging
lower-cases). The groups are recomputed here with pandas."""

from __future__ import annotations

import pandas as pd
from typer.testing import CliRunner

from lawn.cli import app

runner = CliRunner()
EVENTS = (
    "event_id,event_name,schema_version,source,occurred_at,received_at,anonymous_id,user_id,properties\n"
    'e1,signed_up,1,web,2026-11-20T10:00:00Z,2026-11-20T10:00:01Z,a1,,"{}"\n'
)
CRM = pd.DataFrame(
    {
        "account_id": ["A1", "A2", "A3", "A4", "A5"],
        "account_name": ["Acme", "Beta", "Gamma", "Delta", "Eps"],
        "segment": ["Mid-Market", "mid_market", "SMB", "smb", " Enterprise "],
        "created_at": ["2026-01-01T00:00:00Z"] * 5,
        "acquisition_channel": ["Paid Search", "paid_search", "organic", "Organic", "paid  search"],
    }
)


def _groups(column: pd.Series) -> list[list[str]]:
    lowered = column.str.strip().str.lower()
    keys = lowered.str.replace(r"[\s_-]+", "_", regex=True)
    spellings = lowered.groupby(keys).agg(lambda values: sorted(set(values)))
    return sorted(values for values in spellings if len(values) > 1)


def test_a_value_spelt_two_ways_is_named_at_landing(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "raw_events.csv").write_text(EVENTS)
    CRM.to_csv(raw / "crm_accounts.csv", index=False)
    assert _groups(CRM["segment"]) == [["mid-market", "mid_market"]]  # SMB/smb: case only
    assert _groups(CRM["acquisition_channel"]) == [["paid  search", "paid search", "paid_search"]]
    result = runner.invoke(app, ["validate-raw", "--raw-dir", str(raw)])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "crm_accounts.csv: one value in several spellings:" in text
    for column in ("segment", "acquisition_channel"):
        for values in _groups(CRM[column]):
            assert f"{column} " + " / ".join(f"'{value}'" for value in values) in result.output.replace(
                "\n", ""
            )


def test_one_spelling_per_value_is_not_warned(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "raw_events.csv").write_text(EVENTS)
    CRM.assign(
        segment=["mid_market", "mid_market", "SMB", "smb", "enterprise"], acquisition_channel="organic"
    ).to_csv(raw / "crm_accounts.csv", index=False)
    result = runner.invoke(app, ["validate-raw", "--raw-dir", str(raw)])
    assert result.exit_code == 0, result.output
    assert "several spellings" not in result.output
