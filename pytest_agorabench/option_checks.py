"""Start-up checks of option values that config.build_config would otherwise accept and the run would
ignore or coerce: the GPU list's syntax and a budget too small to buy one generation call."""

from __future__ import annotations

import re

from pytest_agorabench.models import ModelSpec
from pytest_agorabench.path_options import ConfigError

# CUDA_VISIBLE_DEVICES entries: an index, or a GPU / MIG UUID as nvidia-smi -L prints it.
GPU_ID = re.compile(r"\d+|(GPU|MIG)-[0-9A-Za-z-]+")
# Characters per token for the budget floor: English runs near 4; 6 keeps the floor below any real count,
# so a budget that could buy a call is never refused.
CHARS_PER_TOKEN_FLOOR = 6


def check_gpus(value: str | None) -> str | None:
    if value is None or value == "all":
        return value
    entries = [g.strip() for g in value.split(",")]
    bad = [g for g in entries if not GPU_ID.fullmatch(g)]
    if bad:
        raise ConfigError(
            f"--agora-gpus={value}: {bad[0]!r} is not a GPU id; write all or ids such as 0,1,2,3 (as in CUDA_VISIBLE_DEVICES)"
        )
    return ",".join(entries)


def shortest_prompt_chars(prompts: str) -> int:
    """Characters of the shortest request any setting sends with ``prompts`` (a variant or a folder):
    system message plus a meta-prompt filled with empty values."""
    from pytest_agorabench.generation.prompts import SYSTEM_MESSAGE, VARIANTS, build_prompt
    from pytest_agorabench.generation.prompts.folder import load_folder
    from pytest_agorabench.settings import SETTINGS

    if prompts not in VARIANTS:
        folder = load_folder(prompts)
        return len(folder.system or "") + min(len(t) for t in folder.templates.values())
    empty = {"instruction": "", "response": ""}
    lengths = []
    for setting in SETTINGS:
        try:
            text = build_prompt(setting, demos=(empty,) * 3, theme="", opening="", seed_row=empty, variant=prompts)
        except LookupError:  # a domain without prompts cannot run, so it sets no floor
            continue
        lengths.append(len(text))
    return len(SYSTEM_MESSAGE) + min(lengths)


def check_budget(budget_usd: float, spec: ModelSpec, prompts: str) -> None:
    """Refuse a budget below the cost of one call's prompt (plus one answer token): the pilot could not run
    a single instance, and the run would end with nothing generated."""
    tokens = max(1, shortest_prompt_chars(prompts) // CHARS_PER_TOKEN_FLOOR)
    floor = spec.cost(tokens, 1) or 0.0
    if budget_usd < floor:
        raise ConfigError(
            f"--agora-budget={budget_usd:g} USD buys nothing: one call to {spec.name} sends at least about "
            f"{tokens} prompt tokens, which cost {floor:.3g} USD; raise the budget or use --instances"
        )


def check_sizes(value: str | None, instances: int | None, budget: bool) -> tuple[int, ...] | None:
    """--agora-sizes: prefixes of the one generation run to train a student on, strictly increasing positive
    integers whose largest is the run's size (``instances``: --instances when given, else None and the
    largest size sets it). Budget mode sizes its run from a pilot, so no prefix list can be checked."""
    if value is None:
        return None
    if budget:
        raise ConfigError("--agora-sizes needs a fixed size: it cannot be combined with --agora-budget")
    sizes = []
    for part in value.split(","):
        part = part.strip()
        if not part.isdecimal() or int(part) < 1:
            raise ConfigError(f"--agora-sizes={value}: {part!r} is not a positive integer; write sizes such as 1000,5000,10000")
        sizes.append(int(part))
    if any(b <= a for a, b in zip(sizes, sizes[1:])):
        raise ConfigError(f"--agora-sizes={value}: sizes must be strictly increasing")
    if instances is not None and sizes[-1] != instances:
        # Every prefix comes from one run of --instances rows: a larger size was never generated, and a
        # smaller largest size would leave the case's own student outside the curve.
        raise ConfigError(
            f"--agora-sizes={value}: the largest size ({sizes[-1]}) must equal --instances ({instances}), the "
            "one generation run every prefix is taken from (or leave --instances out to use the largest size)"
        )
    return tuple(sizes)
