"""Seed rows from a local .json / .jsonl / .parquet file, or a folder of such files (``--agora-seed-file``).

Each record needs an instruction and a response. Accepted field pairs, first match wins per record:
``instruction``/``response``, ``question``/``answer``, ``prompt``/``completion``. Other fields are ignored.
- .json: one list of objects. .jsonl: one object per line (blank lines skipped). .parquet: one row per record.
- A folder: every such file under it (recursively, hidden files skipped), in sorted path order.
- Row ids are ``<file stem>:<n>``: the line number for .jsonl, the 1-based position for .json/.parquet.
  In a folder the stem is the path relative to the folder (without suffix), so ids stay unique.
- A record whose instruction or response is empty (or null) is dropped and counted; a record that lacks
  the fields, a file that is not valid, or a file with no records stops the run with a SeedError.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from pytest_agorabench.records import SUFFIXES, iter_records
from pytest_agorabench.seeds._rows import SeedError, make_row

FIELD_PAIRS = (("instruction", "response"), ("question", "answer"), ("prompt", "completion"))
_PAIRS_TEXT = ", ".join(f"{a}/{b}" for a, b in FIELD_PAIRS)


def load_local(path: Path) -> list[dict]:
    """Seed rows of a local file or folder (rows with empty text are left out; see ``read_local``)."""
    return read_local(path)[0]


def read_local(path: Path) -> tuple[list[dict], Counter]:
    """Seed rows of a local file or folder, and the count of dropped records by reason."""
    path = Path(path)
    if not path.exists():
        raise SeedError(f"seed file {path} does not exist")
    if path.is_dir():
        files = sorted(
            p
            for p in path.rglob("*")
            if p.is_file() and p.suffix.lower() in SUFFIXES and not _hidden(p.relative_to(path))
        )
        if not files:
            raise SeedError(f"seed folder {path} holds no {'/'.join(SUFFIXES)} files")
        labels = {f: f.relative_to(path).with_suffix("").as_posix() for f in files}
        if len(set(labels.values())) < len(files):  # a.json beside a.jsonl: keep the suffix in the id
            labels = {f: f.relative_to(path).as_posix() for f in files}
    else:
        if path.suffix.lower() not in SUFFIXES:
            raise SeedError(
                f"seed file {path}: unsupported extension {path.suffix or '(none)'!r}; "
                f"use one of {', '.join(SUFFIXES)} or a folder of them"
            )
        files, labels = [path], {path: path.stem}

    rows: list[dict] = []
    drops: Counter = Counter()
    for file in files:
        count = 0
        for number, record in iter_records(file, error=SeedError):
            count += 1
            row = _to_row(file, number, record, labels[file], drops)
            if row is not None:
                rows.append(row)
        if count == 0:
            raise SeedError(f"seed file {file} is empty (no records)")
    return rows, drops


def _hidden(relative: Path) -> bool:
    return any(part.startswith(".") for part in relative.parts)


def _to_row(file: Path, number: int, record: Any, label: str, drops: Counter) -> dict | None:
    where = f"{file}: {'line' if file.suffix.lower() == '.jsonl' else 'row'} {number}"
    if not isinstance(record, dict):
        raise SeedError(f"{where}: expected an object with instruction and response, found {type(record).__name__}")
    for first, second in FIELD_PAIRS:
        if first in record and second in record:
            break
    else:
        found = ", ".join(sorted(map(str, record))) or "no fields"
        raise SeedError(f"{where}: missing fields; needs one of the pairs {_PAIRS_TEXT} (found: {found})")
    texts = []
    for key in (first, second):
        value = record[key]
        if value is not None and not isinstance(value, str):
            raise SeedError(f"{where}: field {key!r} must be text, found {type(value).__name__}")
        texts.append((value or "").strip())
    instruction, response = texts
    if not instruction:
        drops["empty_instruction"] += 1
        return None
    if not response:
        drops["empty_response"] += 1
        return None
    return make_row(f"{label}:{number}", instruction, response, f"file:{file.name}")
