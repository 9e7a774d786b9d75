"""Demonstration sampler for instance generation (AGORABENCH.md 2.2).

Each call gets 3 demonstrations, shuffled, plus a theme (and an opening word where the domain has
them), all drawn from one ``random.Random`` seeded by (run seed, instance index). A run is therefore
reproducible except for which generated rows already exist when an instance starts, which depends
on concurrency.

Mixes:
- ``intended``: 2 seeds (distinct) + 1 row generated earlier in this run; 3 seeds while none exists.
- ``official``: what the authors' code actually does. Its seed list and its growing list of generated
  rows are the same list object, so the draw that is meant to be "2 from the seeds" samples the seeds
  *and* every generated row so far, while the draw meant to be "1 generated" takes the first
  len(seeds) entries of that list, i.e. seeds only. Once generated rows outnumber seeds this is about
  2 generated + 1 seed, and the two draws are independent, so the same demonstration can appear twice.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pytest_agorabench.generation.prompts.base import NUM_DEMOS, DomainRules

MIXES = ("intended", "official")
SEED_ORIGIN = "seed"
GENERATED_ORIGIN = "generated"

Row = Mapping[str, Any]


@dataclass(frozen=True)
class DemoDraw:
    demos: list[Row]
    origins: list[str]  # "seed" / "generated", aligned with demos
    theme: str
    opening: str | None = None
    ids: list[str] = field(default_factory=list)  # demo row ids where known, for the eval log


def instance_rng(seed: int, index: int) -> random.Random:
    # sha256 rather than hash(): stable across processes and PYTHONHASHSEED.
    digest = hashlib.sha256(f"agorabench-demos:{seed}:{index}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def draw_demos(
    seeds: Sequence[Row],
    generated: Sequence[Row],
    rng: random.Random,
    mix: str = "intended",
) -> tuple[list[Row], list[str]]:
    """Three shuffled demonstrations and their origins."""
    if len(seeds) < NUM_DEMOS:
        raise ValueError(f"instance generation needs at least {NUM_DEMOS} seed rows, got {len(seeds)}")
    # Index arithmetic instead of list copies: pools reach tens of thousands of rows.
    if mix == "intended":
        if generated:
            picked = [(row, SEED_ORIGIN) for row in rng.sample(seeds, 2)]
            picked.append((rng.choice(generated), GENERATED_ORIGIN))
        else:
            picked = [(row, SEED_ORIGIN) for row in rng.sample(seeds, NUM_DEMOS)]
    elif mix == "official":
        n_seeds = len(seeds)
        picked = [
            (seeds[i], SEED_ORIGIN) if i < n_seeds else (generated[i - n_seeds], GENERATED_ORIGIN)
            for i in rng.sample(range(n_seeds + len(generated)), 2)
        ]
        picked.append((rng.choice(seeds), SEED_ORIGIN))
    else:
        raise ValueError(f"unknown demo mix {mix!r}; choose from {', '.join(MIXES)}")
    rng.shuffle(picked)
    return [row for row, _ in picked], [origin for _, origin in picked]


def sample_for_instance(
    rules: DomainRules,
    seeds: Sequence[Row],
    generated: Sequence[Row],
    *,
    seed: int,
    index: int,
    mix: str = "intended",
) -> DemoDraw:
    """Demonstrations, theme and opening for instance ``index``: drawn in that order from one rng."""
    rng = instance_rng(seed, index)
    demos, origins = draw_demos(seeds, generated, rng, mix)
    theme = rng.choice(rules.themes)
    opening = rng.choice(rules.openings) if rules.openings else None
    ids = [str(row.get("id", "")) for row in demos]
    return DemoDraw(demos, origins, theme, opening, ids)
