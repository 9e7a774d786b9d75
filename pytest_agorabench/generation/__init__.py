"""Generation stage: a generator LM writes training data from seed rows with a meta-prompt.

Layout: ``prompts/`` (shared layout + one rules module per domain), ``demos`` (instance-generation
demonstration sampler), ``parse``, ``cleanup``, ``validators``, ``instance`` (one instance with its
retries), ``runner`` (the stage entry), ``_inspect_task`` (inspect Task and solver, imported lazily).
A new domain adds ``prompts/<domain>.py`` plus its entries in ``validators.DOMAIN_CHECKS`` and
``cleanup.DOMAIN_CLEANUPS``.
"""

from pytest_agorabench.generation.prompts import SYSTEM_MESSAGE, build_prompt, prompt_fingerprint
from pytest_agorabench.generation.runner import (
    GenerationIncomplete,
    GenerationResult,
    collect,
    planned_count,
    run_generation,
)

# Bump when parsing, validation, clean-up or the row schema change: part of the stage's cache key.
GENERATION_VERSION = 1

__all__ = [
    "GENERATION_VERSION",
    "SYSTEM_MESSAGE",
    "GenerationIncomplete",
    "GenerationResult",
    "build_prompt",
    "collect",
    "planned_count",
    "prompt_fingerprint",
    "run_generation",
]
