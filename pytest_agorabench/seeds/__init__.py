"""Seed data of a setting: the first stage of a case (AGORABENCH.md section 2).

``load_seeds(setting, config)`` picks the source, in this order:
1. ``config.seed_file`` (``--agora-seed-file``): a local .json/.jsonl/.parquet file or folder (local_files.py);
2. ``config.profile.data_source == "fixture"``: our offline rows, ``fixtures/seeds/<domain>/<method>.jsonl``;
3. otherwise the hub datasets of ``setting.hub_sources``, through their converters (hub.py, hub_formats.py).
Then exact duplicate (instruction, response) pairs are removed and counted, and ``profile.seed_limit`` keeps
a subsample chosen by ``config.seed`` (same seed, same rows, in source order). Importing this package is
cheap: ``datasets`` and ``pyarrow`` are imported only when a hub source or a Parquet file is read.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from pytest_agorabench.seeds._rows import SeedError, dedupe, merge_drops, subsample
from pytest_agorabench.seeds.fixtures import fixture_path, load_fixture
from pytest_agorabench.seeds.local_files import load_local, read_local
from pytest_agorabench.settings import Setting
from pytest_agorabench.store import rows_hash

if TYPE_CHECKING:
    from pytest_agorabench.config import RunConfig

__all__ = ["SeedError", "SeedSet", "load_local", "load_seeds", "read_local", "fingerprint"]


@dataclass(frozen=True)
class SeedSet:
    rows: list[dict]
    drops: dict[str, int] = field(default_factory=dict)  # reason -> rows left out for it
    source: str = ""  # where the rows came from, for reports and error messages
    fingerprint: str = ""  # sha256 of the canonical rows: the store key of everything downstream

    def __len__(self) -> int:
        return len(self.rows)


def fingerprint(rows: list[dict]) -> str:
    return rows_hash(rows)


def load_seeds(setting: Setting, config: RunConfig) -> SeedSet:
    profile = config.profile
    limit = profile.seed_limit
    drops: Counter = Counter()
    if config.seed_file is not None:
        path = Path(config.seed_file)
        rows, file_drops = read_local(path)
        merge_drops(drops, file_drops)
        source = f"local file {path}"
    elif profile.data_source == "fixture":
        rows = load_fixture(setting)
        source = f"fixture {fixture_path(setting)}"
    elif profile.data_source == "hub":
        from pytest_agorabench.seeds.hub import describe, load_hub

        rows = []
        for hub_source in setting.hub_sources:
            part, part_drops = load_hub(hub_source, limit, config.seed)
            rows.extend(part)
            merge_drops(drops, part_drops)
        source = "hub " + " + ".join(describe(s) for s in setting.hub_sources)
    else:
        raise SeedError(
            f"profile {profile.name!r} has data_source {profile.data_source!r}; expected 'fixture' or 'hub'"
        )

    rows, duplicates = dedupe(rows)
    if duplicates:
        drops["duplicate"] += duplicates
    rows = subsample(rows, limit, config.seed)
    if not rows:
        why = ", ".join(f"{reason}: {n}" for reason, n in sorted(drops.items())) or "the source has no rows"
        raise SeedError(f"no usable seed rows for {setting.key} from {source} (dropped: {why})")
    return SeedSet(rows=rows, drops=dict(sorted(drops.items())), source=source, fingerprint=fingerprint(rows))
