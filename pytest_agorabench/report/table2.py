"""The paper's Table 2 layout from a report's cases: one grid per generator (and prompt variant), rows the
three generation methods, columns the three domains, each cell a PGR with its interval or the reason it is
undefined; method and domain means over the defined cells. The Markdown and HTML reports both draw it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pytest_agorabench.report.estimate_text import interval
from pytest_agorabench.report.json_report import aggregates
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

    def summary(self) -> dict[str, Any]:
        """json_report's Table-2 aggregates over this grid's cells: one rule for means and the score."""
        return aggregates(list(self.cells.values()))

    def method_mean(self, method: str) -> float | None:
        return self.summary()["by_method"].get(method, {}).get("mean_pgr")

    def domain_mean(self, domain: str) -> float | None:
        return self.summary()["by_domain"].get(domain, {}).get("mean_pgr")

    def score(self) -> float | None:
        return self.summary()["generator_score"]


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
    summary = grid.summary()
    n, cells, score = summary["cells_defined"], summary["cells"], summary["generator_score"]
    head = (f"Generator score {score:.1f} (mean PGR over {n} of {cells} cells)" if score is not None
            else f"Generator score not reported: only {n} of {cells} cells have a defined PGR")
    means = ", ".join(f"{LABELS[m].lower()} {mean_text(grid.method_mean(m))}" for m in METHODS)
    return f"{head}; method means: {means}."
