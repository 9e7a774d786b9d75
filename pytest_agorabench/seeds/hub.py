"""Seed rows from a Hugging Face dataset (paper and quick profiles).

``load_hub`` reads ``datasets.load_dataset(dataset_id, config, split=split)`` (every config of the format's
list when the source names none, e.g. MATH's seven subjects), filters by the source's subset and converts
each row with its registered format. With a limit it visits rows in a seeded random order and stops after
``limit`` usable rows, so a 10K subsample of a 150K-row dataset does not convert all of it; drops are
counted over the rows visited. Returned rows are in dataset order (config order, then index).
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator, Mapping
from typing import Any

from pytest_agorabench.seeds._rows import RowDropped, SeedError, make_row
from pytest_agorabench.seeds.hub_formats import check_subset, convert_row, get_format
from pytest_agorabench.settings import HubSource

_BATCH = 512  # rows fetched per Arrow read: random single-row reads would be far slower


def load_hub(source: HubSource, limit: int | None, seed: int) -> tuple[list[dict], Counter]:
    """Converted seed rows of one hub source and the count of dropped rows by reason."""
    fmt = get_format(source.format)
    check_subset(fmt, source.subset)
    if limit is not None and limit < 1:
        raise SeedError(f"seed limit must be at least 1, got {limit}")
    configs: list[str | None] = [source.config] if source.config else (list(fmt.configs) or [None])
    parts = []
    for config in configs:
        dataset = _load_dataset(source.dataset_id, config, source.split)
        wanted = [c for c in fmt.columns if c in dataset.column_names]
        if wanted and len(wanted) < len(dataset.column_names):
            dataset = dataset.select_columns(wanted)
        parts.append((_label(source, config), dataset))

    order = [(p, i) for p, (_, ds) in enumerate(parts) for i in range(len(ds))]
    if limit is not None:
        random.Random(seed).shuffle(order)
    kept: list[tuple[int, int, dict]] = []
    drops: Counter = Counter()
    for (part, index), raw in _fetch(parts, order):
        label = parts[part][0]
        try:
            instruction, response = convert_row(fmt, raw, source.subset)
        except RowDropped as dropped:
            drops[dropped.reason] += 1
            continue
        kept.append((part, index, make_row(f"{label}:{source.split}:{index}", instruction, response, label)))
        if limit is not None and len(kept) >= limit:
            break
    kept.sort(key=lambda item: item[:2])
    return [row for _, _, row in kept], drops


def describe(source: HubSource) -> str:
    """E.g. ``TIGER-Lab/WebInstructSub (train, subset math)``."""
    config = source.config or ("all configs" if get_format(source.format).configs else None)
    subset = f"subset {source.subset}" if source.subset else None
    bits = [b for b in (config, source.split, subset) if b]
    return f"{source.dataset_id} ({', '.join(bits)})"


def _label(source: HubSource, config: str | None) -> str:
    # The config is part of the row's identity when one dataset spreads over several (MATH's subjects).
    return f"{source.dataset_id}/{config}" if config and source.config is None else source.dataset_id


def _load_dataset(dataset_id: str, config: str | None, split: str) -> Any:
    import datasets  # lazy: heavy, and only the hub profiles need it

    try:
        return datasets.load_dataset(dataset_id, config, split=split)
    except Exception as exc:  # any loader failure (offline, gated, renamed) becomes one clear message
        where = f"{dataset_id} (config {config or 'default'}, split {split})"
        raise SeedError(
            f"could not load seed data {where} from the Hugging Face hub: {type(exc).__name__}: {exc}. "
            "Offline? Use --agora-seed-file with a local copy, or the smoke profile's fixture seeds."
        ) from exc


def _fetch(parts: list[tuple[str, Any]], order: list[tuple[int, int]]) -> Iterator[tuple[tuple[int, int], dict]]:
    """Rows in ``order``, read in batches (one Arrow read per dataset per batch)."""
    for start in range(0, len(order), _BATCH):
        chunk = order[start : start + _BATCH]
        by_part: dict[int, list[int]] = {}
        for part, index in chunk:
            by_part.setdefault(part, []).append(index)
        fetched: dict[tuple[int, int], dict] = {}
        for part, indices in by_part.items():
            columns: Mapping[str, list] = parts[part][1][indices]
            names = list(columns)
            for index, values in zip(indices, zip(*(columns[n] for n in names))):
                fetched[(part, index)] = dict(zip(names, values))
        for key in chunk:
            yield key, fetched[key]
