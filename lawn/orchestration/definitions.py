"""The Dagster code location: `lawn nightly` as assets, a schedule and a raw-file sensor.

    validate (raw sources) -> dbt build (every model, seed and snapshot but SCORED, data tests
    as asset checks) -> score (ml sources) -> dbt SCORED (fct_churn_scores+,
    fct_model_monitoring+) -> action_export -> slo -> report

Each Python asset calls the step function `lawn nightly` calls (lawn/nightly_steps.py) with the same
NightlyConfig; the dbt assets run `dbt build` with the same flags and selection as steps
build and actions. Every step holds the warehouse's writer lock while it runs (the embedded
runner holds it for the whole run). Run it with ``dagster dev -m lawn.orchestration.definitions``
(docs/orchestration.md)."""

import json
from collections.abc import Iterator
from pathlib import Path

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    AssetSelection,
    AssetSpec,
    DefaultScheduleStatus,
    DefaultSensorStatus,
    Definitions,
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
    DagsterDbtTranslatorSettings,
    DbtCliResource,
    dbt_assets,
    get_asset_key_for_model,
)

from lawn.contract import RAW_TABLES
from lawn.landing import nightly_selection
from lawn.nightly_steps import (
    NightlyConfig,
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
    fingerprint_key,
    manifest_path,
    raw_fingerprint,
)
from lawn.orchestration.steps import (
    SCORE,
    Translator,
    dbt_build,
    marts_read_by_report,
    plain_build,
    run_step,
    run_steps,
    source_keys,
)
from lawn.paths import REPO_ROOT, patched_dbt_executable
from lawn.raw_reader import RawFileError

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


def build_definitions(manifest: Path | None = None, lawn: LawnNightlyResource | None = None) -> Definitions:
    """The code location's definitions from a dbt manifest (default: manifest_path())."""
    manifest_file = manifest or manifest_path()
    manifest_json = json.loads(manifest_file.read_text())
    translator = Translator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))
    sources = source_keys(manifest_json, translator)
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
        detail, _ = run_step(context, lawn, "validate", step_validate)
        for key in raw_keys:
            yield MaterializeResult(asset_key=key, metadata={"detail": detail})

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
            yield from dbt_build(context, dbt, lawn, plain_build(full_refresh), pays_rebuild=step == "build")

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
        detail, _ = run_step(context, lawn, "retention", step_retention)
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
        detail, _ = run_step(context, lawn, "score", run_scoring)
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
        detail, _ = run_step(context, lawn, "bandit", run_bandit_step)
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
        detail, _ = run_step(context, lawn, "actions", step_export)
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
        detail, state = run_step(context, lawn, "slo", step_slo)
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
        deps=[AssetKey("slo"), AssetKey("action_export"), *(all_models[m] for m in marts_read_by_report())],
        pool=POOL,
        description="Step report: report.html and report.md in the report folder.",
    )
    def report(context: AssetExecutionContext, lawn: LawnNightlyResource) -> MaterializeResult:
        def write(config: NightlyConfig, state: dict) -> str:
            state["steps"] = run_steps(context)
            return step_report(config, state)

        detail, state = run_step(context, lawn, "report", write)
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
        # the cursor is "<fingerprint key>:<runs asked for>": the run key counts, so a folder
        # back at an earlier fingerprint (a delivery removed) is a new run, not one Dagster
        # skips as already requested (the fingerprint alone was the run key)
        last_key, _, asked = (context.cursor or "").partition(":")
        if key == last_key:
            return SkipReason(f"no new or changed raw file in {raw_dir}")
        cursor = f"{key}:{int(asked) + 1 if asked.isdigit() else 1}"
        context.update_cursor(cursor)
        return RunRequest(run_key=cursor, tags={"lawn/raw_files": ",".join(sorted(fingerprint))})

    schedule = ScheduleDefinition(
        name="lawn_nightly_schedule",
        job=nightly_job,
        cron_schedule=NIGHTLY_CRON,
        execution_timezone="UTC",
        default_status=DefaultScheduleStatus.STOPPED,
        description="The nightly at 02:30 UTC, as ops/lawn-nightly.cron.",
    )
    # dbt's command line with lawn's patches, as every other run of dbt for lawn (lawn/dbt_main.py)
    dbt = DbtCliResource(
        project_dir=str(REPO_ROOT), profiles_dir=str(REPO_ROOT), dbt_executable=patched_dbt_executable()
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
