"""``python -m lawn.dbt_main <dbt arguments>``: dbt's command line with lawn's patches of dbt.

lawn/dbt_runner.py starts this instead of the ``dbt`` executable when it runs dbt as a plain
child (``lawn build``, and any run the fork server cannot take), so every process that runs
dbt for lawn runs it alike: artefacts written once (lawn/dbt_artifacts.py), the run queue
ordered by critical path (lawn/dbt_schedule.py) and Jinja templates compiled once per machine
(lawn/dbt_jinja_cache.py). Arguments, output and exit code are dbt's."""

from __future__ import annotations


def install_patches() -> None:
    """lawn's patches of this process's dbt, the same in every process that runs dbt for lawn
    (this entry point, the fork server, in-process runs)."""
    from lawn import dbt_artifacts, dbt_jinja_cache, dbt_schedule

    dbt_artifacts.install()  # manifest.json written once per run
    dbt_schedule.install()  # the run queue ordered by critical path
    dbt_jinja_cache.install()  # Jinja templates compiled once per machine


def main() -> None:
    install_patches()
    from dbt.cli.main import cli

    cli(prog_name="dbt")


if __name__ == "__main__":
    main()
