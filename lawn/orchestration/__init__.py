"""A Dagster code location for lawn (issue 15 item 4): lawn/orchestration/definitions.py.
Importing this package needs dagster and dagster-dbt (requirements.lock, extra
``orchestration``); `lawn nightly` does not."""
