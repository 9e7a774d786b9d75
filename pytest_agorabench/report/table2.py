"""The paper's Table 2 layout from a report's cases: one grid per generator (and prompt variant), rows the
three generation methods, columns the three domains, each cell a PGR with its interval or the reason it is
undefined; method and domain means over the defined cells. The Markdown and HTML reports both draw it."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any

from pytest_agorabench.report.terminal import interval
from pytest_agorabench.settings import Domain, Method

METHODS = tuple(m.value for m in Method)
DOMAINS = tuple(d.value for d in Domain)
LABELS = {
    "instance_generation": "Instance generation",
    "response_generation": "Response generation",
    "quality_enhancement": "Quality enhancement",
    "math": "Math",
    "code": "Code",
    "instruction_following": "Instruction following",
}


@dataclass
class Grid:
    generator: str
    prompts: str
    cells: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)  # (method, domain) -> case
    cases: list[dict[str, Any]] = field(default_factory=list)  # every case of the grid, a cell's earlier runs too

    @property
    def label(self) -> str:
        return self.generator if self.prompts == "agorabench" else f"{self.generator} [{self.prompts}]"

    def cell(self, method: str, domain: str) -> dict[str, Any] | None:
        return self.cells.get((method, domain))

    def method_mean(self, method: str) -> float | None:
        return _mean([self.cells.get((method, d)) for d in DOMAINS])

    def domain_mean(self, domain: str) -> float | None:
        return _mean([self.cells.get((m, domain)) for m in METHODS])

    def defined(self) -> list[float]:
        return [c["pgr"]["point"] for c in self.cells.values() if c["pgr"]["point"] is not None]

    def score(self) -> float | None:
        """Mean over the defined cells, only when most of the run's cells are defined (as json_report)."""
        defined = self.defined()
        return statistics.fmean(defined) if defined and 2 * len(defined) > len(self.cells) else None


def _mean(cases: list[dict[str, Any] | None]) -> float | None:
    points = [c["pgr"]["point"] for c in cases if c is not None and c["pgr"]["point"] is not None]
    return statistics.fmean(points) if points else None


def grids(cases: list[dict[str, Any]]) -> list[Grid]:
    """One grid per (generator, prompt variant), in the order first met. A setting met twice for one
    generator (a session that ran a case twice) keeps the last, as a table has one cell for it."""
    out: dict[tuple[str, str], Grid] = {}
    for case in cases:
        key = (str(case.get("generator")), str(case.get("prompts") or "agorabench"))
        grid = out.setdefault(key, Grid(*key))
        domain, method = case["setting"].split("/")
        grid.cells[(method, domain)] = case
        grid.cases.append(case)
    return list(out.values())


def cell_text(case: dict[str, Any] | None) -> str:
    if case is None:
        return "not run"
    return interval(case["pgr"])


def undefined_reason(case: dict[str, Any] | None) -> str | None:
    return None if case is None else case["pgr"].get("undefined_reason")


def mean_text(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def score_line(grid: Grid) -> str:
    """The generator score and the method means in words, as the paper reads Table 2."""
    n, cells = len(grid.defined()), len(grid.cells)
    score = grid.score()
    head = (f"Generator score {score:.1f} (mean PGR over {n} of {cells} cells)" if score is not None
            else f"Generator score not reported: only {n} of {cells} cells have a defined PGR")
    means = ", ".join(f"{LABELS[m].lower()} {mean_text(grid.method_mean(m))}" for m in METHODS)
    return f"{head}; method means: {means}."
