"""Deterministic generator of a B2B SaaS company's raw inputs, with planted truth."""

from lawn.generator.config import (
    DirtRates,
    GeneratorConfig,
    PlantedActionEffects,
    PlantedBreach,
    PlantedChurnWarning,
    PlantedOutage,
    PlantedSdkBreak,
)
from lawn.generator.run import GeneratedData, generate

__all__ = [
    "DirtRates",
    "GeneratedData",
    "GeneratorConfig",
    "PlantedActionEffects",
    "PlantedBreach",
    "PlantedChurnWarning",
    "PlantedOutage",
    "PlantedSdkBreak",
    "generate",
]
