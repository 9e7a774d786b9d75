"""Meta-prompts: a layout per variant filled with one domain's rules (``<domain>.py``).

Variants (AGORABENCH.md 2.6): ``agorabench`` (``base``, the default), ``unoptimized`` and ``json``;
each module exposes the three builders. A user's folder of prompt files is ``folder``. A new domain
adds ``prompts/<domain>.py`` exposing ``RULES: DomainRules``; nothing here changes.
"""

from __future__ import annotations

import hashlib
import importlib
import json
from collections.abc import Mapping, Sequence
from types import ModuleType
from typing import Any

from pytest_agorabench.errors import AgoraBenchError
from pytest_agorabench.generation.prompts import base, json_format, unoptimized
from pytest_agorabench.generation.prompts.base import SYSTEM_MESSAGE, DomainRules
from pytest_agorabench.settings import Domain, Method, Setting

__all__ = [
    "DEFAULT_VARIANT",
    "SYSTEM_MESSAGE",
    "VARIANTS",
    "DomainRules",
    "build_prompt",
    "domain_rules",
    "prompt_fingerprint",
]

# Variant name -> the module holding its three builders.
_VARIANT_MODULES: dict[str, ModuleType] = {"agorabench": base, "unoptimized": unoptimized, "json": json_format}
VARIANTS = tuple(_VARIANT_MODULES)
DEFAULT_VARIANT = "agorabench"


def _variant_module(variant: str) -> ModuleType:
    try:
        return _VARIANT_MODULES[variant]
    except KeyError:
        raise ValueError(f"unknown prompt variant {variant!r}; choose from {', '.join(VARIANTS)}") from None


class DomainNotImplementedError(AgoraBenchError, LookupError):
    """A domain without meta-prompts: pick one of the implemented settings."""


def domain_rules(domain: Domain | str) -> DomainRules:
    """The ``RULES`` of ``prompts/<domain>.py``; a clear error when the domain has no prompts yet."""
    name = Domain(domain).value
    try:
        module = importlib.import_module(f"{__name__}.{name}")
    except ModuleNotFoundError as exc:
        if exc.name != f"{__name__}.{name}":
            raise
        raise DomainNotImplementedError(f"no generation prompts for domain {name!r} yet") from None
    return module.RULES


def build_prompt(
    setting: Setting,
    *,
    demos: Sequence[Mapping[str, str]] = (),
    theme: str | None = None,
    opening: str | None = None,
    seed_row: Mapping[str, Any] | None = None,
    variant: str = DEFAULT_VARIANT,
) -> str:
    """The filled meta-prompt (the user message) for one instance of ``setting`` in ``variant``.

    Instance generation needs ``demos`` and ``theme`` (and ``opening`` where the domain samples one);
    response generation and quality enhancement need ``seed_row`` (instruction, and response for QE).
    """
    rules = domain_rules(setting.domain)
    module = _variant_module(variant)
    if setting.method is Method.INSTANCE_GENERATION:
        if not demos or theme is None:
            raise ValueError("instance generation needs demos and a theme")
        return module.instance_generation_prompt(rules, demos, theme, opening)
    if seed_row is None:
        raise ValueError(f"{setting.method.value} needs the seed row")
    if setting.method is Method.RESPONSE_GENERATION:
        return module.response_generation_prompt(rules, str(seed_row["instruction"]))
    return module.quality_enhancement_prompt(rules, str(seed_row["instruction"]), str(seed_row["response"]))


def prompt_fingerprint(setting: Setting, variant: str = DEFAULT_VARIANT) -> str:
    """sha256 of every template text the setting's prompts use, for cache keys.

    Rendering with fixed placeholder values captures the layout, the rules and the system message at
    once; the theme/opening lists are added because a render shows only one of them.
    """
    rules = domain_rules(setting.domain)
    demo = {"instruction": "<instruction>", "response": "<response>"}
    rendered = build_prompt(
        setting,
        demos=(demo, demo, demo),
        theme="<theme>",
        opening="<opening>" if rules.openings else None,
        seed_row=demo,
        variant=variant,
    )
    payload = {
        "setting": setting.key,
        "system": SYSTEM_MESSAGE,
        "prompt": rendered,
        "themes": list(rules.themes) if setting.method is Method.INSTANCE_GENERATION else [],
        "openings": list(rules.openings) if setting.method is Method.INSTANCE_GENERATION else [],
    }
    if variant != DEFAULT_VARIANT:  # the default's key predates variants: stores from then stay valid
        payload["variant"] = variant
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
