"""`lawn generate`: the simulated company's raw inputs and its planted truth
(lawn/generator/, docs/generator.md)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

from lawn.cli_common import err, fail, out
from lawn.paths import DEMO_RAW_DIR, TRUTH_DIR


def _parse_dirt(values: list[str]) -> dict[str, float]:
    overrides = {}
    for value in values:
        name, sep, rate = value.partition("=")
        try:
            overrides[name.strip()] = float(rate)
        except ValueError:
            fail(f"--dirt expects KIND=RATE (for example duplicate=0.02), got {value!r}")
        if not sep:
            fail(f"--dirt expects KIND=RATE (for example duplicate=0.02), got {value!r}")
    return overrides


def generate(
    seed: Annotated[int, typer.Option(help="Random seed; the same seed and size give the same files.")] = 42,
    accounts: Annotated[int, typer.Option(help="Number of customer accounts to simulate.")] = 50,
    days: Annotated[int, typer.Option(help="Number of days to simulate (at least 28).")] = 150,
    start_date: Annotated[str, typer.Option(help="First simulated day (YYYY-MM-DD).")] = "2026-03-02",
    file_format: Annotated[
        str | None,
        typer.Option(
            "--format",
            help="csv (the demo in data/raw), parquet (all text) or parquet-typed; "
            "default csv, parquet-typed with --habits foreign.",
        ),
    ] = None,
    habits: Annotated[
        str,
        typer.Option(
            help="native (ours) or foreign: trials as $0 plans, tabs in emails, same-name colleagues, "
            "junk ids, no marketing spend, no experiment registry (see lawn/generator/foreign.py)."
        ),
    ] = "native",
    out_dir: Annotated[Path, typer.Option(help="Where raw files go.")] = DEMO_RAW_DIR,
    truth_dir: Annotated[
        Path | None,
        typer.Option(
            help="Where the planted truth goes (default: a folder `truth` beside --out-dir; the "
            "demo's data/truth for the demo's data/raw).",
            show_default=False,
        ),
    ] = None,
    dirt: Annotated[list[str], typer.Option(help="Override one dirt rate, KIND=RATE; repeatable.")] = [],  # noqa: B006
    dirt_scale: Annotated[float, typer.Option(help="Multiply every dirt rate by this factor.")] = 1.0,
    breach_platform: Annotated[
        str | None, typer.Option(help="Plant an activation incident on this platform (web/ios/android).")
    ] = None,
    breach_start_day: Annotated[int, typer.Option(help="Day (from the start) the incident begins.")] = 90,
    breach_activation_factor: Annotated[
        float, typer.Option(help="During the incident, activation probability is multiplied by this.")
    ] = 0.0,
    churn_warning_days: Annotated[
        int,
        typer.Option(
            help="Plant a churn warning: activity falls this many days before a cancellation (0 = off)."
        ),
    ] = 0,
    churn_warning_activity_factor: Annotated[
        float, typer.Option(help="During the warning, people are active this many times as often.")
    ] = 0.3,
    sdk_break_platform: Annotated[
        str | None,
        typer.Option(help="Plant an SDK release that stops sending --sdk-break-event on this platform."),
    ] = None,
    sdk_break_event: Annotated[
        str, typer.Option(help="The event the SDK release stops sending.")
    ] = "feature_used",
    sdk_break_day: Annotated[int, typer.Option(help="Day (from the start) the SDK release ships.")] = 60,
    outage_start_day: Annotated[
        int | None,
        typer.Option(
            help="Plant a collector outage from this day (from the start); its backlog arrives later."
        ),
    ] = None,
    outage_days: Annotated[int, typer.Option(help="Length of the outage in days.")] = 2,
    outage_backfill_hours: Annotated[
        float, typer.Option(help="Hours after the outage ends at which its backlog arrives.")
    ] = 6.0,
    action_effects: Annotated[
        bool,
        typer.Option(
            help="Plant a randomised retention offer with heterogeneous effects on churn "
            "(exp_retention_offer; truth in truth_action_effects.csv)."
        ),
    ] = False,
    action_effects_start_day: Annotated[
        int, typer.Option(help="Day (from the start) the randomised offer period begins.")
    ] = 28,
    in_memory: Annotated[
        bool,
        typer.Option(
            help="Build every table in memory before writing (the old path; same bytes). By default "
            "csv and parquet stream in batches with bounded memory (see docs/generator.md)."
        ),
    ] = False,
) -> None:
    """Simulate a B2B SaaS company and write its raw inputs plus the planted truth."""
    from lawn.generator import (
        DirtRates,
        GeneratorConfig,
        PlantedActionEffects,
        PlantedBreach,
        PlantedChurnWarning,
        PlantedOutage,
        PlantedSdkBreak,
    )
    from lawn.generator import generate as run_generator
    from lawn.generator.stream import STREAMED_FORMATS, generate_to_files
    from lawn.generator.writers import FILE_FORMATS, write_generated

    if habits not in ("native", "foreign"):
        fail(f"--habits must be native or foreign, got {habits!r}")
    file_format = file_format or ("parquet-typed" if habits == "foreign" else "csv")
    if file_format not in FILE_FORMATS:
        fail(f"--format must be one of {', '.join(FILE_FORMATS)}, got {file_format!r}")
    try:
        start = dt.date.fromisoformat(start_date)
    except ValueError:
        fail(f"--start-date must be a date YYYY-MM-DD, got {start_date!r}")
    try:
        rates = DirtRates().scaled(dirt_scale).with_overrides(_parse_dirt(dirt))
        breach = (
            PlantedBreach(breach_platform, breach_start_day, breach_activation_factor)
            if breach_platform
            else None
        )
        warning = (
            PlantedChurnWarning(churn_warning_days, churn_warning_activity_factor)
            if churn_warning_days
            else None
        )
        config = GeneratorConfig(
            seed=seed,
            accounts=accounts,
            days=days,
            start_date=start,
            dirt=rates,
            breach=breach,
            churn_warning=warning,
            sdk_break=(
                PlantedSdkBreak(sdk_break_platform, sdk_break_event, sdk_break_day)
                if sdk_break_platform
                else None
            ),
            outage=(
                PlantedOutage(outage_start_day, outage_days, outage_backfill_hours)
                if outage_start_day is not None
                else None
            ),
            action_effects=PlantedActionEffects(action_effects_start_day) if action_effects else None,
        )
    except ValueError as exc:
        fail(str(exc))
    if truth_dir is None:  # the answers never land in the checkout's demo for another world
        truth_dir = TRUTH_DIR if out_dir.resolve() == DEMO_RAW_DIR.resolve() else out_dir.parent / "truth"
    if habits == "native" and file_format in STREAMED_FORMATS and not in_memory:
        with err.status(f"simulating {accounts} accounts over {days} days, streaming {file_format}"):
            try:
                run = generate_to_files(config, out_dir, truth_dir, file_format)
            except (ValueError, OSError) as exc:
                fail(str(exc))
        out.print(f"wrote {run.events:,} raw events; files:")
        for path in run.paths:
            out.print(f"  {path}")
        return
    with err.status(f"simulating {accounts} accounts over {days} days"):
        data = run_generator(config)
    if habits == "foreign":
        from lawn.generator.foreign import apply_foreign_habits

        data = apply_foreign_habits(data, seed)
    with err.status(f"writing {file_format}"):
        paths = write_generated(data, out_dir, truth_dir, file_format)  # type: ignore[arg-type]
    out.print(f"wrote {len(data.raw['raw_events']):,} raw events; files:")
    for path in paths:
        out.print(f"  {path}")
