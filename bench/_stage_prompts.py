"""The generation stage's chat prompts for one setting of the smoke world, built as the stage builds them
(the ``agorabench`` meta-prompts, the world's seed rows), formatted for an in-process engine: shared by the
provider benches."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any


def stage_prompts(engine: Any, setting_key: str, count: int, tag: str) -> tuple[Any, Any, list[str]]:
    """(setting, meta-prompts, ``count`` chat-formatted prompts) for ``setting_key``."""
    from inspect_ai.model import ChatMessageSystem, ChatMessageUser

    from pytest_agorabench.files import Journal
    from pytest_agorabench.generation.instance import GenerationContext
    from pytest_agorabench.generation.meta_prompts import meta_prompts
    from pytest_agorabench.seeds import load_seeds
    from pytest_agorabench.settings import get_setting

    prompts = meta_prompts("agorabench")
    setting = get_setting(setting_key)
    seeds = load_seeds(setting, data_source="fixture", world="smoke_world").rows
    journal = Journal(Path(tempfile.mkdtemp(prefix=f"{tag}-")) / "journal.jsonl")
    ctx = GenerationContext(setting=setting, seeds=seeds, journal=journal, seed=42, demo_mix="intended",
                            max_attempts=1, prompts=prompts)
    texts = [
        engine.format_chat([ChatMessageSystem(content=prompts.system), ChatMessageUser(content=ctx.prompt_for(i % len(seeds))[0])])
        for i in range(count)
    ]
    return setting, prompts, texts
