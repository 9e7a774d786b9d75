"""The nine AgoraBench settings (3 domains x 3 generation methods), declared as data in one place.

A setting is collected by `suites/` only when its domain is implemented end to end (IMPLEMENTED_DOMAINS).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from enum import Enum

from pytest_agorabench.errors import AgoraBenchError


class Domain(str, Enum):
    MATH = "math"
    CODE = "code"
    INSTRUCTION_FOLLOWING = "instruction_following"


class Method(str, Enum):
    INSTANCE_GENERATION = "instance_generation"
    RESPONSE_GENERATION = "response_generation"
    QUALITY_ENHANCEMENT = "quality_enhancement"


@dataclass(frozen=True)
class HubSource:
    """One Hugging Face dataset that feeds a setting's seed set (paper scale)."""

    dataset_id: str
    config: str | None
    split: str
    format: str  # name of the row converter in seeds/hub_formats.py
    subset: str | None = None  # converter-level filter, e.g. "math" / "non_math" / "coding"


@dataclass(frozen=True)
class Setting:
    domain: Domain
    method: Method
    hub_sources: tuple[HubSource, ...]
    paper_seed_size: int
    benchmarks: tuple[str, str]

    @property
    def id(self) -> str:
        """Test id, e.g. ``math-instance_generation``."""
        return f"{self.domain.value}-{self.method.value}"

    @property
    def key(self) -> str:
        """Path-like name used by the API, e.g. ``math/instance_generation``."""
        return f"{self.domain.value}/{self.method.value}"

    @property
    def trains_on_seed(self) -> bool:
        # Instance generation trains the student on seed + generated; the others on generated only.
        return self.method is Method.INSTANCE_GENERATION

    def __str__(self) -> str:
        return self.id


_GSM8K_TRAIN = HubSource("openai/gsm8k", "main", "train", "gsm8k")
_MATH_TRAIN = HubSource("EleutherAI/hendrycks_math", None, "train", "hendrycks_math")

SETTINGS: tuple[Setting, ...] = (
    Setting(Domain.MATH, Method.INSTANCE_GENERATION, (_GSM8K_TRAIN, _MATH_TRAIN), 14_856, ("gsm8k", "math")),
    Setting(
        Domain.MATH,
        Method.RESPONSE_GENERATION,
        (HubSource("Magpie-Align/Magpie-Reasoning-150K", None, "train", "magpie", "math"),),
        10_000,
        ("gsm8k", "math"),
    ),
    Setting(
        Domain.MATH,
        Method.QUALITY_ENHANCEMENT,
        (HubSource("TIGER-Lab/WebInstructSub", None, "train", "webinstruct", "math"),),
        10_000,
        ("gsm8k", "math"),
    ),
    Setting(
        Domain.CODE,
        Method.INSTANCE_GENERATION,
        (
            HubSource("google-research-datasets/mbpp", "full", "train", "mbpp"),
            HubSource("CohereForAI/xP3x", "en", "train", "xp3x", "code"),
        ),
        874,
        ("mbpp", "humaneval"),
    ),
    Setting(
        Domain.CODE,
        Method.RESPONSE_GENERATION,
        (HubSource("Magpie-Align/Magpie-Reasoning-150K", None, "train", "magpie", "coding"),),
        10_000,
        ("mbpp", "humaneval"),
    ),
    Setting(
        Domain.CODE,
        Method.QUALITY_ENHANCEMENT,
        (HubSource("neulab/conala", "mined", "train", "conala"),),
        10_000,
        ("mbpp", "humaneval"),
    ),
    Setting(
        Domain.INSTRUCTION_FOLLOWING,
        Method.INSTANCE_GENERATION,
        (HubSource("GAIR/lima", None, "train", "lima"),),
        503,
        ("alpacaeval2", "arena_hard"),
    ),
    Setting(
        Domain.INSTRUCTION_FOLLOWING,
        Method.RESPONSE_GENERATION,
        (HubSource("Magpie-Align/Magpie-Pro-300K-Filtered", None, "train", "magpie"),),
        10_000,
        ("alpacaeval2", "arena_hard"),
    ),
    Setting(
        Domain.INSTRUCTION_FOLLOWING,
        Method.QUALITY_ENHANCEMENT,
        (HubSource("TIGER-Lab/WebInstructSub", None, "train", "webinstruct", "non_math"),),
        10_000,
        ("alpacaeval2", "arena_hard"),
    ),
)

# Domains whose whole pipeline (seeds, prompts, validators, benchmarks) is real. Others are not collected.
IMPLEMENTED_DOMAINS: frozenset[Domain] = frozenset({Domain.MATH, Domain.CODE, Domain.INSTRUCTION_FOLLOWING})


class UnknownSettingError(AgoraBenchError, ValueError):
    pass


def available_settings(domain: Domain | str | None = None) -> list[Setting]:
    """Settings that can run now, optionally limited to one domain."""
    wanted = Domain(domain) if domain is not None else None
    return [
        s
        for s in SETTINGS
        if s.domain in IMPLEMENTED_DOMAINS and (wanted is None or s.domain is wanted)
    ]


def get_setting(name: str) -> Setting:
    """Look a setting up by ``math/response_generation`` or ``math-response_generation``."""
    normalized = name.strip().replace("-", "/", 1)
    for s in SETTINGS:
        if s.key == normalized:
            if s.domain not in IMPLEMENTED_DOMAINS:
                raise UnknownSettingError(
                    f"setting {s.key!r} is declared but its domain is not implemented yet; "
                    f"available: {', '.join(x.key for x in available_settings())}"
                )
            return s
    choices = [s.key for s in available_settings()]
    hint = difflib.get_close_matches(normalized, choices, n=1)
    did_you_mean = f" Did you mean {hint[0]!r}?" if hint else ""
    raise UnknownSettingError(f"unknown setting {name!r}.{did_you_mean} Valid: {', '.join(choices)}")
