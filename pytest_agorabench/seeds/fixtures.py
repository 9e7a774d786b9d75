"""Our own offline seed sets (the smoke profile): ``fixtures/seeds/<domain>/<method>.jsonl``.

Fixture rows are written by hand and carry their own ``id``; they are read strictly (all four seed fields,
unique ids), since a broken fixture is our bug, not a user's input to drop rows from.
"""

from __future__ import annotations

from pathlib import Path

from pytest_agorabench.offline_data import fixture_path as offline_path
from pytest_agorabench.records import iter_jsonl
from pytest_agorabench.seeds._rows import SeedError, make_row
from pytest_agorabench.settings import Setting

SEED_FIELDS = ("id", "instruction", "response", "source")


def fixture_path(setting: Setting, world: str | None = None) -> Path:
    """``world``: a folder of our offline data holding its own ``seeds/`` (the smoke profile's
    ``smoke_world``); None reads ``fixtures/seeds/``."""
    return offline_path(*([world] if world else []), "seeds", setting.domain.value, f"{setting.method.value}.jsonl")


def load_fixture(setting: Setting, world: str | None = None) -> list[dict]:
    return read_fixture_file(fixture_path(setting, world))


def read_fixture_file(path: Path) -> list[dict]:
    if not path.exists():
        raise SeedError(
            f"no offline fixture seeds at {path}; use --agora-seed-file, or a profile that reads the hub"
        )
    rows: list[dict] = []
    seen: set[str] = set()
    for line, record in iter_jsonl(path, error=SeedError):
        if not isinstance(record, dict) or any(not isinstance(record.get(k), str) for k in SEED_FIELDS):
            raise SeedError(f"{path}: line {line} needs text fields {', '.join(SEED_FIELDS)}")
        if not record["instruction"].strip() or not record["response"].strip():
            raise SeedError(f"{path}: line {line} has an empty instruction or response")
        if record["id"] in seen:
            raise SeedError(f"{path}: line {line} repeats the id {record['id']!r}")
        seen.add(record["id"])
        rows.append(
            make_row(record["id"], record["instruction"].strip(), record["response"].strip(), record["source"])
        )
    if not rows:
        raise SeedError(f"{path} is empty (no seed rows)")
    return rows
