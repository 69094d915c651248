"""The pieces of the Dagster code location (lawn/orchestration/definitions.py) that are not
asset definitions: running one nightly step or one dbt group under the writer lock, the asset
keys (dagster-dbt's, plus the Python step that writes a landing table a model reads), and the
run's steps for the report."""

import inspect
import json
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetSpec,
    DagsterEventType,
    Failure,
)
from dagster_dbt import DagsterDbtTranslator, DbtCliResource

from lawn import dbt_parse_cache, rebuild_due, report_data
from lawn.identity_key import HashKeyError, install_key
from lawn.landing import landing_tables
from lawn.nightly import NightlyConfig, StepFailed, StepResult
from lawn.orchestration.resources import LawnNightlyResource, dbt_environment
from lawn.paths import REPO_ROOT
from lawn.raw_reader import RawFileError
from lawn.warehouse import WarehouseError, first_line, writing

# the asset of step score (ml.* tables)
SCORE = "score"


def lawn_run_id(context: AssetExecutionContext) -> str:
    """The run id a Dagster run exports under (ops.action_exports.run_id, the export folder)."""
    return f"dagster-{context.run.run_id}"


def run_step(
    context: AssetExecutionContext,
    lawn: LawnNightlyResource,
    name: str,
    function: Callable[[NightlyConfig, dict], str],
) -> tuple[str, dict]:
    """Run one nightly step function under the writer lock, as `lawn nightly` would; a failed
    step is a Dagster Failure with the step's one-line message."""
    state: dict = {"run_id": lawn_run_id(context), "steps": [], "slo_breaches": []}
    try:
        config = lawn.nightly_config()
        with writing(config.db_path, f"dagster {name}", config.lock_wait_seconds, must_exist=False):
            detail = function(config, state)
    except (StepFailed, HashKeyError, WarehouseError, RawFileError) as exc:
        raise Failure(description=f"{name}: {exc}") from None
    except Exception as exc:  # as `lawn nightly` records any other failure: one line, no traceback
        # (an ActionError for an export folder it cannot write escaped with Dagster's frames)
        own = type(exc).__module__.startswith("lawn")
        said = first_line(exc) if own else f"{type(exc).__name__}: {first_line(exc)}"
        raise Failure(description=f"{name}: {said}") from None
    context.log.info(f"{name}: {detail}")
    return detail, state


def marts_read_by_report() -> list[str]:
    """The marts the report step reads (the report asset depends on each): every
    ``marts.<name>`` in lawn.report_data, the cadence reports (lawn/reports/) and the data day."""
    from lawn import data_day, reports

    sources = [inspect.getsource(report_data), inspect.getsource(data_day)]
    sources += [path.read_text() for path in Path(reports.__file__).parent.glob("*.py")]
    return sorted({name for text in sources for name in re.findall(r"\bmarts\.(\w+)", text)})


# the Python asset that writes each landing source (by the nightly step that writes it)
WRITER_OF_STEP = {"score": SCORE, "bandit": "bandit", "actions": "action_export"}


def plain_build(full_refresh: bool) -> list[str]:
    """`dbt build` without a selection: dagster-dbt adds each asset group's own selection."""
    return ["build", "--exclude-resource-type", "unit_test", *(["--full-refresh"] if full_refresh else [])]


class Translator(DagsterDbtTranslator):
    """dagster-dbt's default asset keys; a model that reads a landing table a Python step
    writes (ml.* by score, ops.action_exports by the export) also depends on that step's asset,
    as `lawn nightly` builds it after the step (lawn/landing.py's lineage selection). The
    landing tables stay external sources."""

    def get_asset_spec(self, manifest: Mapping[str, Any], unique_id: str, project: Any) -> AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        node = manifest["nodes"].get(unique_id, {})
        if node.get("resource_type") != "model":
            return spec
        writers = {
            WRITER_OF_STEP[table.nightly_step]
            for table in landing_tables().values()
            if table.nightly_step in WRITER_OF_STEP
            and f"source.lawn.{table.source}.{table.name}" in node.get("depends_on", {}).get("nodes", [])
        }
        if writers:
            spec = spec.merge_attributes(deps=[AssetKey(writer) for writer in sorted(writers)])
        return spec


def source_keys(manifest: dict, translator: DagsterDbtTranslator) -> dict[tuple[str, str], AssetKey]:
    """``{(schema, table): asset key}`` of the manifest's sources."""
    return {
        (props["schema"], props["identifier"]): translator.get_asset_spec(manifest, unique_id, None).key
        for unique_id, props in manifest["sources"].items()
    }


def run_steps(context: AssetExecutionContext) -> list[StepResult]:
    """This run's steps so far, from Dagster's event log, as the report's "Run steps" table
    wants them: step, status, seconds and the detail line the step logged (a dbt step: its
    counts of materialised assets and evaluated checks)."""
    instance, run_id = context.instance, context.run.run_id
    details: dict[str, str] = {}
    counts: dict[str, list[int]] = {}
    kinds = {DagsterEventType.ASSET_MATERIALIZATION, DagsterEventType.ASSET_CHECK_EVALUATION}
    for entry in instance.all_logs(run_id, of_type=kinds):
        event, step = entry.dagster_event, entry.step_key or ""
        if event is None:
            continue
        tally = counts.setdefault(step, [0, 0, 0])
        if event.event_type == DagsterEventType.ASSET_CHECK_EVALUATION:
            tally[1] += 1
            tally[2] += not event.event_specific_data.passed
            continue
        tally[0] += 1
        metadata = event.event_specific_data.materialization.metadata
        if "detail" in metadata:
            details[step] = str(metadata["detail"].value)
    steps = []
    for stats in sorted(instance.get_run_step_stats(run_id), key=lambda s: s.start_time or 0):
        if stats.step_key == context.op_execution_context.op.name:
            continue
        seconds = max((stats.end_time or 0) - (stats.start_time or 0), 0.0)
        status = "ok" if stats.status is not None and stats.status.value == "SUCCESS" else "failed"
        assets, checks, failed = counts.get(stats.step_key, [0, 0, 0])
        detail = details.get(stats.step_key) or f"{assets} assets, {checks} checks ({failed} failed)"
        steps.append(StepResult(stats.step_key, status, seconds, detail))
    return steps


def dbt_build(
    context: AssetExecutionContext,
    dbt: DbtCliResource,
    lawn: LawnNightlyResource,
    args: list[str],
    pays_rebuild: bool = False,
) -> Iterator:
    """One dbt asset group's `dbt build` (``args``) under the writer lock, with the nightly's
    vars and the identity key installed as `lawn nightly` does; with a dbt target folder, a
    fresh one per step, seeded from and kept in the parse store (lawn/dbt_parse_cache.py).
    ``pays_rebuild`` (the build step): with --full-refresh when the raw events were landed
    again in full since the last full build, cleared once it succeeded (lawn/rebuild_due.py)."""
    name = context.op_execution_context.op.name
    with ExitStack() as stack:
        try:
            config = lawn.nightly_config()
            stack.enter_context(
                writing(config.db_path, f"dagster {name}", config.lock_wait_seconds, must_exist=False)
            )
        except (HashKeyError, WarehouseError) as exc:
            raise Failure(description=f"{name}: {exc}") from None
        if config.hash_key is not None:
            install_key(config.db_path, config.hash_key)  # as lawn nightly: dbt never sees it
        owed = rebuild_due.reasons(config.db_path) if pays_rebuild else []
        if owed and "--full-refresh" not in args:
            context.log.info(rebuild_due.announcement(owed))
            args = [*args, "--full-refresh"]
        target, parse_key = None, None
        if config.dbt_target_path is not None:
            target = config.dbt_target_path / f"{context.run.run_id}-{name}"
            if dbt_parse_cache.cache_dir() is not None:  # a fresh folder per step
                warehouse = str(config.db_path)
                parse_key = dbt_parse_cache.cache_key(REPO_ROOT, config.dbt_vars or {}, args, warehouse)
                dbt_parse_cache.seed(target, parse_key)
        vars_args = ["--vars", json.dumps(config.dbt_vars)] if config.dbt_vars else []
        with dbt_environment(config.db_path):
            invocation = dbt.cli([*args, *vars_args], context=context, target_path=target)
        yield from invocation.stream()  # raises when dbt failed: the debt stays
        if owed:
            rebuild_due.clear(config.db_path)
        if target is not None and parse_key is not None:
            dbt_parse_cache.keep(target, parse_key)
