"""The analysis inputs as one shape: cells (generator x setting) with PGR, intrinsic metrics and cost,
plus the generators' own problem-solving scores. Loaded from the paper's tables or from our JSON reports.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pytest_agorabench.errors import AgoraBenchError
from pytest_agorabench.offline_data import fixture_path
from pytest_agorabench.settings import SETTINGS

# Benchmarks of each domain, from the nine settings (math: gsm8k + math, code: mbpp + humaneval, ...).
DOMAIN_BENCHMARKS: dict[str, tuple[str, ...]] = {s.domain.value: tuple(s.benchmarks) for s in SETTINGS}
PROBLEM_SOLVING = "problem_solving"  # the feature name of the generator's own (domain-level) score


class AnalysisInputError(AgoraBenchError, ValueError):
    """An input table or report cannot be used; the message says which and why."""


@dataclass
class Cell:
    generator: str
    domain: str
    method: str
    pgr: float | None  # percent; None when the report has it undefined
    metrics: dict[str, float] = field(default_factory=dict)  # intrinsic metrics of the generated data
    cost_usd: float | None = None

    @property
    def setting(self) -> str:
        return f"{self.domain}/{self.method}"


@dataclass
class AnalysisData:
    cells: list[Cell]
    problem_solving: dict[str, dict[str, float]] | None  # generator -> benchmark -> score (percent)
    source: str  # "paper" or the report paths, for the printout
    prices: dict[str, tuple[float, float]] = field(default_factory=dict)  # generator -> USD / 1M in, out
    notes: list[str] = field(default_factory=list)  # what was missing or skipped, said once


def paper_dir() -> Path:
    """The paper's tables, in our offline data (offline_data.py knows where it lives)."""
    return fixture_path("paper")


def _read_csv(path: Path) -> list[dict[str, str]]:
    try:
        with open(path, newline="") as handle:
            return list(csv.DictReader(handle))
    except FileNotFoundError:
        raise AnalysisInputError(f"{path} does not exist") from None
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise AnalysisInputError(f"{path} cannot be read as CSV: {exc}") from None


def _number(value: Any, where: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise AnalysisInputError(f"{where}: {value!r} is not a number") from None
    if not math.isfinite(number):
        raise AnalysisInputError(f"{where}: {value!r} is not a finite number")
    return number


def _require(rows: list[dict[str, str]], columns: set[str], path: Path) -> None:
    if not rows:
        raise AnalysisInputError(f"{path} has no rows")
    missing = columns - set(rows[0])
    if missing:
        raise AnalysisInputError(f"{path} lacks column(s) {', '.join(sorted(missing))}; has {', '.join(rows[0])}")


def load_problem_solving(path: str | Path) -> dict[str, dict[str, float]]:
    """Generators' own benchmark scores from CSV: long form ``generator,benchmark,score`` or the paper's
    wide form (``generator`` then one column per benchmark, as table7_problem_solving.csv)."""
    path = Path(path)
    rows = _read_csv(path)
    _require(rows, {"generator"}, path)
    table: dict[str, dict[str, float]] = {}
    if {"benchmark", "score"} <= set(rows[0]):
        for i, row in enumerate(rows, start=2):
            scores = table.setdefault(row["generator"].strip(), {})
            scores[row["benchmark"].strip()] = _number(row["score"], f"{path} line {i}")
    else:
        benchmarks = [c for c in rows[0] if c != "generator"]
        if not benchmarks:
            raise AnalysisInputError(f"{path}: expected columns generator,benchmark,score or generator,<benchmarks...>")
        for i, row in enumerate(rows, start=2):
            table[row["generator"].strip()] = {b: _number(row[b], f"{path} line {i} ({b})") for b in benchmarks}
    return table


def load_paper(directory: str | Path | None = None) -> AnalysisData:
    """Table 2 (PGR), Table 8 (intrinsic metrics), Table 7 (problem solving) and Table 3 (prices)."""
    directory = Path(directory) if directory is not None else paper_dir()
    pgr_rows = _read_csv(directory / "table2_pgr.csv")
    _require(pgr_rows, {"generator", "method", "domain", "pgr_percent"}, directory / "table2_pgr.csv")
    cells = {
        (r["generator"], r["domain"], r["method"]): Cell(
            r["generator"], r["domain"], r["method"], _number(r["pgr_percent"], "table2_pgr.csv")
        )
        for r in pgr_rows
    }
    intrinsic = _read_csv(directory / "table8_intrinsic.csv")
    _require(intrinsic, {"metric", "generator", "method", "domain", "value"}, directory / "table8_intrinsic.csv")
    for r in intrinsic:
        cell = cells.get((r["generator"], r["domain"], r["method"]))
        if cell is None:
            raise AnalysisInputError(f"table8_intrinsic.csv names a cell absent from table2: {r}")
        cell.metrics[r["metric"]] = _number(r["value"], f"table8_intrinsic.csv {r['metric']}")
    prices = {
        r["generator"]: (_number(r["usd_per_1m_input_tokens"], "table3"), _number(r["usd_per_1m_output_tokens"], "table3"))
        for r in _read_csv(directory / "table3_cost.csv")
    }
    return AnalysisData(
        cells=list(cells.values()),
        problem_solving=load_problem_solving(directory / "table7_problem_solving.csv"),
        source="paper",
        prices=prices,
    )


def generator_label(case: dict[str, Any]) -> str:
    """The generator's name, plus the meta-prompts when not the default: runs of one generator with
    different prompt variants (paper Table 5) stay apart instead of overwriting each other."""
    prompts = case.get("prompts") or "agorabench"
    name = str(case["generator"])
    return name if prompts == "agorabench" else f"{name} [{prompts}]"


def _generator_name(label: str) -> str:
    return label.split(" [", 1)[0]


def cells_from_report(report: dict[str, Any], where: str) -> list[Cell]:
    """Cells of one pytest-agorabench JSON report (intrinsic metrics under case["intrinsic"]["metrics"])."""
    cells = []
    for i, case in enumerate(report.get("cases") or []):
        try:
            domain, method = str(case["setting"]).split("/")
            point = (case.get("pgr") or {}).get("point")
            metrics = ((case.get("intrinsic") or {}).get("metrics")) or {}
            cells.append(
                Cell(
                    generator=generator_label(case),
                    domain=domain,
                    method=method,
                    pgr=None if point is None else _number(point, f"{where} case {i} pgr"),
                    metrics={k: _number(v, f"{where} case {i} {k}") for k, v in metrics.items() if v is not None},
                    cost_usd=None if case.get("cost_usd") is None else _number(case["cost_usd"], f"{where} case {i}"),
                )
            )
        except (KeyError, ValueError, AttributeError, TypeError) as exc:
            if isinstance(exc, AnalysisInputError):
                raise
            raise AnalysisInputError(f"{where}: case {i} is malformed ({type(exc).__name__}: {exc})") from None
    return cells


def load_reports(paths: list[str | Path], problem_solving: str | Path | None = None) -> AnalysisData:
    """Cells of one or more JSON reports (later reports win for a repeated generator and setting)."""
    from pytest_agorabench.report.json_report import ReportError, load_report

    by_key: dict[tuple[str, str, str], Cell] = {}
    for name in paths:
        try:
            report = load_report(name)
        except ReportError as exc:
            raise AnalysisInputError(str(exc)) from None
        for cell in cells_from_report(report, str(Path(name))):
            by_key[(cell.generator, cell.domain, cell.method)] = cell
    if not by_key:
        raise AnalysisInputError(f"no cases in {', '.join(map(str, paths))}")
    data = AnalysisData(list(by_key.values()), None, source=", ".join(map(str, paths)))
    if problem_solving is None:
        data.notes.append(
            "no problem-solving table given (--problem-solving CSV with generator,benchmark,score): "
            "the problem-solving regressions are skipped and the PCA uses the intrinsic metrics alone"
        )
    else:
        data.problem_solving = load_problem_solving(problem_solving)
    data.prices = _report_prices(data.cells)
    return data


def _report_prices(cells: list[Cell]) -> dict[str, tuple[float, float]]:
    from pytest_agorabench.models import UnknownModelError, resolve_model

    prices = {}
    for generator in {c.generator for c in cells}:
        try:
            spec = resolve_model(generator)
        except UnknownModelError:
            continue
        if spec.priced:
            prices[generator] = (spec.usd_per_1m_input, spec.usd_per_1m_output)
    return prices


def problem_solving_of(data: AnalysisData, generator: str) -> dict[str, float] | None:
    """The generator's scores, matched by name, or through its alias's paper name (gpt-4o -> GPT-4o)."""
    table = data.problem_solving or {}
    generator = _generator_name(generator)  # a prompt variant does not change the model's own scores
    if generator in table:
        return table[generator]
    from pytest_agorabench.models import UnknownModelError, resolve_model

    try:
        paper_name = resolve_model(generator).paper_name
    except UnknownModelError:
        return None
    return table.get(paper_name) if paper_name else None


def domain_problem_solving(scores: dict[str, float], domain: str) -> float | None:
    """Mean of the domain's two benchmarks; None when either is missing."""
    wanted = DOMAIN_BENCHMARKS.get(domain, ())
    if not wanted or any(b not in scores for b in wanted):
        return None
    return sum(scores[b] for b in wanted) / len(wanted)
