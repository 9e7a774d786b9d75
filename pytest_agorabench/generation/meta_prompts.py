"""Which meta-prompts a run uses: a built-in variant or a user's prompt folder (AGORABENCH.md 2.6).

``MetaPrompts`` bundles the three things that must change together when the prompt changes: the
system message, the builder of the user message, and the parser of the model's output. Its
``fingerprint`` goes into the generation cache key, so switching variants (or editing a prompt file)
never serves rows generated with another prompt.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pytest_agorabench.generation.layouts import Layout, ParseResult, family_of, layout_for
from pytest_agorabench.generation.prompts import (
    DEFAULT_VARIANT,
    SYSTEM_MESSAGE,
    VARIANTS,
    build_prompt,
    domain_rules,
    prompt_fingerprint,
)
from pytest_agorabench.generation.prompts.folder import PromptFolder, fill, load_folder, placeholder_values
from pytest_agorabench.settings import Method, Setting


@dataclass(frozen=True)
class MetaPrompts:
    variant: str = DEFAULT_VARIANT  # one of VARIANTS, or "folder"
    folder: PromptFolder | None = None

    @property
    def name(self) -> str:
        return f"folder:{self.folder.path}" if self.folder else self.variant

    @property
    def system(self) -> str:
        return (self.folder.system if self.folder else None) or SYSTEM_MESSAGE

    def check(self, setting: Setting) -> None:
        """Raise before any model call when this run's prompts cannot serve ``setting``."""
        if self.folder is not None:
            self.folder.template(setting)

    def build(
        self,
        setting: Setting,
        *,
        demos: Sequence[Mapping[str, str]] = (),
        theme: str | None = None,
        opening: str | None = None,
        seed_row: Mapping[str, Any] | None = None,
    ) -> str:
        if self.folder is None:
            return build_prompt(setting, demos=demos, theme=theme, opening=opening, seed_row=seed_row, variant=self.variant)
        if setting.method is Method.INSTANCE_GENERATION:
            values = placeholder_values(demos, theme, opening, None)
        else:
            values = placeholder_values((), None, None, seed_row)
        return fill(self.folder.template(setting), values)

    def layout(self, setting: Setting) -> Layout:
        """The layout these prompts ask for: its parser reads the output, its grammar can constrain it."""
        return layout_for(family_of(self.variant), setting)

    def parse(self, setting: Setting, text: str, seed_row: Mapping[str, Any] | None = None) -> ParseResult:
        return self.layout(setting).parse(text, seed_row)

    def fingerprint(self, setting: Setting) -> str:
        if self.folder is None:
            return prompt_fingerprint(setting, self.variant)
        # The texts, not the folder's path: a moved folder with the same files keeps its cache.
        rules = domain_rules(setting.domain)
        ig = setting.method is Method.INSTANCE_GENERATION
        payload = {
            "setting": setting.key,
            "variant": "folder",
            "system": self.system,
            "template": self.folder.template(setting),
            "themes": list(rules.themes) if ig else [],
            "openings": list(rules.openings) if ig else [],
        }
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def meta_prompts(spec: str | os.PathLike[str] | None = None) -> MetaPrompts:
    """A variant name (``agorabench``, ``unoptimized``, ``json``) or the path of a prompt folder."""
    if spec is None or str(spec) == "":
        return MetaPrompts()
    if str(spec) in VARIANTS:
        return MetaPrompts(str(spec))
    return MetaPrompts("folder", load_folder(Path(spec)))
