"""The Dagster code location: `lawn nightly` as assets, a schedule and a raw-file sensor.

    validate (raw sources) -> dbt build (every model, seed and snapshot but SCORED, data tests
    as asset checks) -> score (ml sources) -> dbt SCORED (fct_churn_scores+,
    fct_model_monitoring+) -> action_export -> slo -> report

Each Python asset calls the step function `lawn nightly` calls (lawn/nightly.py) with the same
NightlyConfig; the dbt assets run `dbt build` with the same flags and selection as steps
build and actions. Every step holds the warehouse's writer lock while it runs (the embedded
runner holds it for the whole run). Run it with ``dagster dev -m lawn.orchestration.definitions``
(docs/orchestration.md)."""

import inspect
import json
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    AssetSelection,
    AssetSpec,
    DagsterEventType,
    DefaultScheduleStatus,
    DefaultSensorStatus,
    Definitions,
    Failure,
    MaterializeResult,
    MetadataValue,
    RunRequest,
    ScheduleDefinition,
    SensorEvaluationContext,
    SkipReason,
    asset,
    define_asset_job,
    definitions,
    multi_asset,
    sensor,
)
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliResource,
    dbt_assets,
    get_asset_key_for_model,
)

from lawn import dbt_parse_cache, report_data
from lawn.contract import RAW_TABLES
from lawn.identity_key import HashKeyError, install_key
from lawn.landing import landing_tables, nightly_selection
from lawn.nightly import (
    NightlyConfig,
    StepFailed,
    StepResult,
    run_bandit_step,
    run_scoring,
    step_export,
    step_report,
    step_retention,
    step_slo,
    step_validate,
)
from lawn.orchestration.resources import (
    LawnNightlyResource,
    dbt_environment,
    fingerprint_key,
    manifest_path,
    raw_fingerprint,
)
from lawn.paths import REPO_ROOT, dbt_command
from lawn.raw_reader import RawFileError
from lawn.warehouse import WarehouseError, writing

JOB_NAME = "lawn_nightly"
# the cron line of ops/lawn-nightly.cron: 02:30 UTC every day
NIGHTLY_CRON = "30 2 * * *"
GROUP = "lawn_nightly"
# every asset's step queues on this Dagster pool (limit it to 1 in the instance to keep
# Dagster from even trying two writers; the writer lock refuses the second one anyway)
POOL = "lawn_warehouse"
# what lawn.churn_model reads to score and monitor (its load_dataset and scoring queries)
SCORE_INPUTS = ("fct_churn_training_examples",)
# what lawn.actions.export_actions reads besides the ops ledger
EXPORT_INPUTS = ("fct_next_best_actions", "fct_bandit_assignments")
SLO_INPUTS = ("fct_slo_status",)
ML_TABLES = ("churn_scores", "model_monitoring", "churn_score_contributions")
SCORE = "score"


def lawn_run_id(context: AssetExecutionContext) -> str:
    """The run id a Dagster run exports under (ops.action_exports.run_id, the export folder)."""
    return f"dagster-{context.run.run_id}"


def _step(
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
    context.log.info(f"{name}: {detail}")
    return detail, state


def _marts_read_by_report() -> list[str]:
    """The marts the report step reads (the report asset depends on each): every
    ``marts.<name>`` in lawn.report_data, the cadence reports (lawn/reports/) and the data day."""
    from lawn import data_day, reports

    sources = [inspect.getsource(report_data), inspect.getsource(data_day)]
    sources += [path.read_text() for path in Path(reports.__file__).parent.glob("*.py")]
    return sorted({name for text in sources for name in re.findall(r"\bmarts\.(\w+)", text)})


# the Python asset that writes each landing source (by the nightly step that writes it)
WRITER_OF_STEP = {"score": SCORE, "bandit": "bandit", "actions": "action_export"}


def _plain_build(full_refresh: bool) -> list[str]:
    """`dbt build` without a selection: dagster-dbt adds each asset group's own selection."""
    return ["build", "--exclude-resource-type", "unit_test", *(["--full-refresh"] if full_refresh else [])]


class _Translator(DagsterDbtTranslator):
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


def _source_keys(manifest: dict, translator: DagsterDbtTranslator) -> dict[tuple[str, str], AssetKey]:
    """``{(schema, table): asset key}`` of the manifest's sources."""
    return {
        (props["schema"], props["identifier"]): translator.get_asset_spec(manifest, unique_id, None).key
        for unique_id, props in manifest["sources"].items()
    }


def _run_steps(context: AssetExecutionContext) -> list[StepResult]:
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


def build_definitions(manifest: Path | None = None, lawn: LawnNightlyResource | None = None) -> Definitions:
    """The code location's definitions from a dbt manifest (default: manifest_path())."""
    manifest_file = manifest or manifest_path()
    manifest_json = json.loads(manifest_file.read_text())
    translator = _Translator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))
    sources = _source_keys(manifest_json, translator)
    raw_keys = [sources[("raw", name)] for name in RAW_TABLES]

    @multi_asset(
        name="validate",
        specs=[
            AssetSpec(key, group_name="raw", description=f"raw.{key.path[-1]}, landed by the gate")
            for key in raw_keys
        ],
        pool=POOL,
    )
    def validate(context: AssetExecutionContext, lawn: LawnNightlyResource) -> Iterator[MaterializeResult]:
        """Step validate: the raw-file gate lands the raw folder in schema raw (all or nothing)."""
        detail, _ = _step(context, lawn, "validate", step_validate)
        for key in raw_keys:
            yield MaterializeResult(asset_key=key, metadata={"detail": detail})

    def _dbt_build(
        context: AssetExecutionContext, dbt: DbtCliResource, lawn: LawnNightlyResource, args: list[str]
    ) -> Iterator:
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
            yield from invocation.stream()
            if target is not None and parse_key is not None:
                dbt_parse_cache.keep(target, parse_key)

    def dbt_group(name: str, step: str, description: str) -> AssetsDefinition:
        """The dbt build that follows nightly step ``step`` (lawn.landing.nightly_selection):
        step build selects everything but what later steps' tables feed; the others select
        what their step's tables feed, minus what a later step's tables feed."""
        select, exclude = nightly_selection(step)

        @dbt_assets(
            manifest=manifest_json,
            name=name,
            select=" ".join(select) or "fqn:*",
            exclude=" ".join(exclude) or None,
            dagster_dbt_translator=translator,
            pool=POOL,
        )
        def group(context: AssetExecutionContext, dbt: DbtCliResource, lawn: LawnNightlyResource) -> Iterator:
            full_refresh = lawn.full_refresh if step == "build" else False
            yield from _dbt_build(context, dbt, lawn, _plain_build(full_refresh))

        group.__doc__ = description
        return group

    build = dbt_group(
        "build",
        "build",
        "Step build: every model, seed and snapshot except what reads the scores or the ledger.",
    )

    def model_key(name: str) -> AssetKey:
        return get_asset_key_for_model([build], name)

    @asset(
        name="retention",
        group_name=GROUP,
        deps=[model_key(m) for m in SCORE_INPUTS],
        pool=POOL,
        description="Step retention: the retention policies per data class, audited in ops.retention_audit.",
    )
    def retention(context: AssetExecutionContext, lawn: LawnNightlyResource) -> MaterializeResult:
        """Step retention (lawn/retention.py), after the build as in `lawn nightly`."""
        detail, _ = _step(context, lawn, "retention", step_retention)
        return MaterializeResult(metadata={"detail": detail})

    @asset(
        name=SCORE,
        group_name=GROUP,
        deps=[AssetKey("retention"), *(model_key(m) for m in SCORE_INPUTS)],
        pool=POOL,
        description="Step score: " + ", ".join(f"ml.{t}" for t in ML_TABLES) + ", by the live model.",
    )
    def score(context: AssetExecutionContext, lawn: LawnNightlyResource) -> MaterializeResult:
        """Step score: score with the live model (train one when none), monitor it, uplift."""
        detail, _ = _step(context, lawn, "score", run_scoring)
        return MaterializeResult(metadata={"detail": detail})

    scored_build = dbt_group(
        "scored_build", "score", "The dbt half of step score: what reads the scores, built after scoring."
    )

    @asset(
        name="bandit",
        group_name=GROUP,
        deps=[get_asset_key_for_model([scored_build], "fct_next_best_actions")],
        pool=POOL,
        description="Step bandit: ml.bandit_allocations and ml.bandit_assignments (lawn/bandit_nightly.py).",
    )
    def bandit(context: AssetExecutionContext, lawn: LawnNightlyResource) -> MaterializeResult:
        """Step bandit: each registered bandit allocates and assigns its rule's new actions."""
        detail, _ = _step(context, lawn, "bandit", run_bandit_step)
        return MaterializeResult(metadata={"detail": detail})

    bandit_build = dbt_group(
        "bandit_build",
        "bandit",
        "The dbt half of step bandit: the bandit marts (the export reads the assignments).",
    )

    def scored_key(name: str) -> AssetKey:
        for group in (scored_build, bandit_build):
            keys = {key.path[-1]: key for key in group.keys}
            if name in keys:
                return keys[name]
        raise KeyError(f"{name} is built by neither scored_build nor bandit_build")

    @asset(
        name="action_export",
        group_name=GROUP,
        deps=[scored_key(m) for m in EXPORT_INPUTS],
        pool=POOL,
        description="The run's actions and reversals: a CSV under the export folder and ops.action_exports.",
    )
    def action_export(context: AssetExecutionContext, lawn: LawnNightlyResource) -> MaterializeResult:
        """The export half of step actions."""
        detail, _ = _step(context, lawn, "actions", step_export)
        return MaterializeResult(metadata={"detail": detail})

    exported_build = dbt_group(
        "exported_build",
        "actions",
        "The dbt half of step actions: the ledger's marts, built after the export.",
    )

    all_models = {
        k.path[-1]: k for group in (build, scored_build, bandit_build, exported_build) for k in group.keys
    }

    @asset(
        name="slo",
        group_name=GROUP,
        deps=[all_models[m] for m in SLO_INPUTS],
        pool=POOL,
        check_specs=[
            AssetCheckSpec(
                "no_error_slo_breach",
                asset="slo",
                description="No SLO of severity error breaches (nightly exit 3).",
            )
        ],
        description="Step slo: the SLOs that breach on the latest day.",
    )
    def slo(context: AssetExecutionContext, lawn: LawnNightlyResource) -> MaterializeResult:
        detail, state = _step(context, lawn, "slo", step_slo)
        breaches = state["slo_breaches"]
        errors = [b["slo_id"] for b in breaches if b["severity"] == "error"]
        return MaterializeResult(
            metadata={
                "detail": detail,
                "breaches": MetadataValue.json(json.loads(json.dumps(breaches, default=str))),
            },
            check_results=[
                AssetCheckResult(
                    check_name="no_error_slo_breach",
                    passed=not errors,
                    severity=AssetCheckSeverity.ERROR,
                    metadata={"error_breaches": ", ".join(errors) or "none"},
                )
            ],
        )

    @asset(
        name="report",
        group_name=GROUP,
        deps=[AssetKey("slo"), AssetKey("action_export"), *(all_models[m] for m in _marts_read_by_report())],
        pool=POOL,
        description="Step report: report.html and report.md in the report folder.",
    )
    def report(context: AssetExecutionContext, lawn: LawnNightlyResource) -> MaterializeResult:
        def write(config: NightlyConfig, state: dict) -> str:
            state["steps"] = _run_steps(context)
            return step_report(config, state)

        detail, state = _step(context, lawn, "report", write)
        return MaterializeResult(
            metadata={"detail": detail, "html": MetadataValue.path(str(state["report_html"]))}
        )

    nightly_job = define_asset_job(JOB_NAME, selection=AssetSelection.all(), description="lawn nightly")

    @sensor(
        job=nightly_job,
        minimum_interval_seconds=60,
        default_status=DefaultSensorStatus.STOPPED,
        description="Runs the nightly when a raw file is added or changed in the raw folder.",
    )
    def new_raw_files(context: SensorEvaluationContext, lawn: LawnNightlyResource):
        raw_dir = lawn.raw_folder()
        try:
            fingerprint = raw_fingerprint(raw_dir)
        except RawFileError as exc:
            return SkipReason(str(exc))
        if not fingerprint:
            return SkipReason(f"no raw files in {raw_dir}")
        key = fingerprint_key(fingerprint)
        if key == context.cursor:
            return SkipReason(f"no new or changed raw file in {raw_dir}")
        context.update_cursor(key)
        return RunRequest(run_key=key, tags={"lawn/raw_files": ",".join(sorted(fingerprint))})

    schedule = ScheduleDefinition(
        name="lawn_nightly_schedule",
        job=nightly_job,
        cron_schedule=NIGHTLY_CRON,
        execution_timezone="UTC",
        default_status=DefaultScheduleStatus.STOPPED,
        description="The nightly at 02:30 UTC, as ops/lawn-nightly.cron.",
    )
    dbt = DbtCliResource(
        project_dir=str(REPO_ROOT), profiles_dir=str(REPO_ROOT), dbt_executable=dbt_command()[0]
    )
    return Definitions(
        assets=[
            validate,
            build,
            retention,
            score,
            scored_build,
            bandit,
            bandit_build,
            action_export,
            exported_build,
            slo,
            report,
        ],
        jobs=[nightly_job],
        schedules=[schedule],
        sensors=[new_raw_files],
        resources={"dbt": dbt, "lawn": lawn or LawnNightlyResource()},
    )


@definitions
def defs() -> Definitions:
    """What `dagster dev -m lawn.orchestration.definitions` loads."""
    return build_definitions()
