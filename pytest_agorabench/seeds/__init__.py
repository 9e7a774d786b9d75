"""Seed data of a setting: the first stage of a case (AGORABENCH.md section 2).

``load_seeds(setting, seed_file=..., data_source=..., limit=..., seed=...)`` picks the source, in this order:
1. ``seed_file`` (``--agora-seed-file``): a local .json/.jsonl/.parquet file or folder (local_files.py);
2. ``data_source == "fixture"``: our offline rows, ``fixtures/[<world>/]seeds/<domain>/<method>.jsonl``;
3. ``data_source == "hub"``: the hub datasets of ``setting.hub_sources``, through their converters (hub.py,
   hub_formats.py).
Then exact duplicate (instruction, response) pairs are removed and counted, and ``limit`` keeps a subsample
chosen by ``seed`` (same seed, same rows, in source order). Importing this package is
cheap: ``datasets`` and ``pyarrow`` are imported only when a hub source or a Parquet file is read.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from pytest_agorabench.files import rows_hash
from pytest_agorabench.seeds._rows import SeedError, dedupe, merge_drops, subsample
from pytest_agorabench.seeds.fixtures import fixture_path, load_fixture
from pytest_agorabench.seeds.local_files import load_local, read_local
from pytest_agorabench.settings import Method, Setting

# The code and instruction-following hub formats register into hub_formats.FORMATS on import: one registry.
from pytest_agorabench.seeds import code_formats as _code_formats  # noqa: E402,F401
from pytest_agorabench.seeds import if_formats as _if_formats  # noqa: E402,F401

__all__ = ["SeedError", "SeedSet", "load_local", "load_seeds", "read_local", "fingerprint"]


@dataclass(frozen=True)
class SeedSet:
    rows: list[dict]
    drops: dict[str, int] = field(default_factory=dict)  # reason -> rows left out for it
    source: str = ""  # where the rows came from, for reports and error messages
    fingerprint: str = ""  # sha256 of the canonical rows: the store key of everything downstream

    def __len__(self) -> int:
        return len(self.rows)


# A seed row longer than this is no instruction but a pasted file: it would fill the generator's context
# and the student's sequence, so it is dropped and counted under TOO_LONG. Far above any paper seed.
MAX_SEED_CHARS = 100_000
TOO_LONG = f"over_{MAX_SEED_CHARS}_characters"


def _within_length(rows: list[dict]) -> tuple[list[dict], int]:
    kept = [r for r in rows if len(r["instruction"]) <= MAX_SEED_CHARS and len(r["response"]) <= MAX_SEED_CHARS]
    return kept, len(rows) - len(kept)


def fingerprint(rows: list[dict]) -> str:
    return rows_hash(rows)


def load_seeds(
    setting: Setting,
    *,
    seed_file: Path | None = None,
    data_source: str = "fixture",
    limit: int | None = None,
    seed: int = 42,
    world: str | None = None,
) -> SeedSet:
    drops: Counter = Counter()
    if seed_file is not None:
        path = Path(seed_file)
        rows, file_drops = read_local(path)
        merge_drops(drops, file_drops)
        source = f"local file {path}"
    elif data_source == "fixture":
        rows = load_fixture(setting, world)
        source = f"fixture {fixture_path(setting, world)}"
    elif data_source == "hub":
        from pytest_agorabench.seeds.hub import describe, load_hub

        rows = []
        for hub_source in setting.hub_sources:
            part, part_drops = load_hub(hub_source, limit, seed)
            rows.extend(part)
            merge_drops(drops, part_drops)
        source = "hub " + " + ".join(describe(s) for s in setting.hub_sources)
    else:
        raise SeedError(f"data_source {data_source!r}: expected 'fixture' or 'hub'")

    rows, too_long = _within_length(rows)
    if too_long:
        drops[TOO_LONG] += too_long
    rows, duplicates = dedupe(rows)
    if duplicates:
        drops["duplicate"] += duplicates
    rows = subsample(rows, limit, seed)
    why = ", ".join(f"{reason}: {n}" for reason, n in sorted(drops.items())) or "none"
    if not rows:
        raise SeedError(f"no usable seed rows for {setting.key} from {source} (dropped: {why})")
    if setting.method is Method.INSTANCE_GENERATION:
        from pytest_agorabench.generation.prompts.base import NUM_DEMOS

        if len(rows) < NUM_DEMOS:
            raise SeedError(
                f"{setting.key} needs at least {NUM_DEMOS} seed rows (its demonstrations), but {source} gave "
                f"{len(rows)} (dropped: {why}); add rows to the seed file"
            )
    return SeedSet(rows=rows, drops=dict(sorted(drops.items())), source=source, fingerprint=fingerprint(rows))
