"""``python -m lawn.dbt_main <dbt arguments>``: dbt's command line with lawn's patches of dbt.

lawn/dbt_runner.py starts this instead of the ``dbt`` executable when it runs dbt as a plain
child (``lawn build``, and any run the fork server cannot take), so every process that runs
dbt for lawn runs it alike: artefacts written once (lawn/dbt_artifacts.py) and the run queue
ordered by critical path (lawn/dbt_schedule.py). Arguments, output and exit code are dbt's."""

from __future__ import annotations


def main() -> None:
    from lawn import dbt_artifacts, dbt_schedule

    dbt_artifacts.install()
    dbt_schedule.install()
    from dbt.cli.main import cli

    cli(prog_name="dbt")


if __name__ == "__main__":
    main()
