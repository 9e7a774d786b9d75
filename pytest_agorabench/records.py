"""Records from JSON, JSONL and Parquet files, with the line/row number for error messages.

Every reader yields ``(number, record)``: the line number for JSONL, the 1-based position for a JSON
array or a Parquet table. Records are returned as parsed; checking their fields is the caller's job.
A file that cannot be read or parsed raises ``error`` (``RecordsError`` unless the caller passes its own
class, so seeds and benchmarks keep raising theirs) with a message that names the file.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pytest_agorabench.errors import AgoraBenchError

SUFFIXES = (".json", ".jsonl", ".parquet")


class RecordsError(AgoraBenchError, ValueError):
    """A records file cannot be read or parsed; the message names the file and the line or row."""


Numbered = Iterator[tuple[int, Any]]


def iter_records(file: Path, *, json_lines_in_json: bool = False, error: type[Exception] = RecordsError) -> Numbered:
    """The records of a .jsonl, .json or .parquet file, chosen by its suffix.

    A .json file holds one array of records; with ``json_lines_in_json`` a .json file whose text does not
    start with ``[`` is read as JSON lines instead (benchmark downloads come in both layouts).
    """
    file = Path(file)
    suffix = file.suffix.lower()
    if suffix not in SUFFIXES:
        raise error(f"{file}: unsupported file type {suffix or '(none)'!r}; use {', '.join(SUFFIXES)}")
    if suffix == ".parquet":
        yield from iter_parquet(file, error=error)
        return
    text = read_text(file, error)
    if suffix == ".json" and (not json_lines_in_json or text.lstrip().startswith("[")):
        yield from _json_array(file, text, error)
    else:
        yield from _json_lines(file, text, error)


def read_text(file: Path, error: type[Exception] = RecordsError) -> str:
    """The file as UTF-8 text; an undecodable or unreadable file is ``error``, not a traceback."""
    try:
        return Path(file).read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise error(f"{file} is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise error(f"{file} cannot be read ({exc.strerror or exc})") from None


def iter_jsonl(file: Path, *, error: type[Exception] = RecordsError) -> Numbered:
    """(line number, parsed value) for each non-blank line; bad JSON names the line."""
    yield from _json_lines(file, read_text(file, error), error)


def _json_lines(file: Path, text: str, error: type[Exception]) -> Numbered:
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line)
        except json.JSONDecodeError as exc:
            raise error(f"{file}: line {number} is not valid JSON ({exc.msg}, column {exc.colno})") from None


def _json_array(file: Path, text: str, error: type[Exception]) -> Numbered:
    if not text.strip():
        return
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise error(f"{file}: not valid JSON at line {exc.lineno}, column {exc.colno} ({exc.msg})") from None
    if not isinstance(data, list):
        raise error(f"{file}: a .json file must hold a list of objects, found {type(data).__name__}")
    yield from enumerate(data, start=1)


def iter_parquet(file: Path, *, error: type[Exception] = RecordsError) -> Numbered:
    """(row number, row as a dict) for each row of a Parquet table."""
    try:
        import pyarrow  # lazy: importing pyarrow costs about a second, and most runs read no Parquet
        import pyarrow.parquet as pq
    except ImportError as exc:
        raise error(f"{file}: reading Parquet needs the 'pyarrow' package ({exc})") from None
    try:
        table = pq.read_table(file)
    except (pyarrow.ArrowException, OSError) as exc:
        raise error(f"{file}: not a readable Parquet file ({exc})") from None
    yield from enumerate(table.to_pylist(), start=1)
