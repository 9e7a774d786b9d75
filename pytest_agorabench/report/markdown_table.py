"""Table 2 as Markdown (GitHub tables), for a CI job summary (``--agora-md``; ``cat`` it into
``$GITHUB_STEP_SUMMARY``): PGR % with the 95 % interval per cell, method and domain means, the generator
score, and each undefined cell's reason as a footnote."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pytest_agorabench.report.table2 import (
    DOMAINS,
    LABELS,
    METHODS,
    cell_text,
    grids,
    mean_text,
    score_line,
    undefined_reason,
)


def _escape(text: str) -> str:
    # A cell must not open a new column or line, or turn into markup.
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ").replace("<", "&lt;")


def _code(text: str) -> str:
    # Inside a code span nothing is markup; only a backtick (closing it early) or a line break can harm.
    return "`" + text.replace("`", "'").replace("\n", " ") + "`"


def table2_markdown(report: dict[str, Any]) -> str:
    lines = ["## AgoraBench: Performance Gap Recovered (PGR %, 95 % interval)", ""]
    cases = report.get("cases", [])
    if not cases:
        return "\n".join(lines + ["No case ran.", ""])
    for grid in grids(cases):
        notes: list[str] = []
        lines += [f"### Generator {_code(grid.label)}", ""]
        lines.append("| method | " + " | ".join(LABELS[d] for d in DOMAINS) + " | mean |")
        lines.append("|---" * (len(DOMAINS) + 2) + "|")
        for method in METHODS:
            cells = []
            for domain in DOMAINS:
                case = grid.cell(method, domain)
                text = cell_text(case)
                why = undefined_reason(case)
                if why:
                    notes.append(f"{domain}/{method}: {why}")
                    text += f" [{len(notes)}]"
                cells.append(_escape(text))
            lines.append(f"| {LABELS[method]} | " + " | ".join(cells) + f" | {mean_text(grid.method_mean(method))} |")
        lines.append("| **mean** | " + " | ".join(mean_text(grid.domain_mean(d)) for d in DOMAINS)
                     + f" | **{mean_text(grid.score())}** |")
        lines += ["", _escape(score_line(grid)), ""]
        lines += [f"[{i}] {_escape(note)}  " for i, note in enumerate(notes, 1)]
        if notes:
            lines.append("")
    lines += _size_table(cases)
    summary = report.get("summary", {})
    gate = summary.get("gate")
    if gate:
        lines += [(f"Gate vs {_code(str(gate['baseline']))} (max drop {gate['margin']:g} PGR points): "
                   f"{gate['failed']} of {gate['gated']} case(s) failed."), ""]
    if any(c.get("smoke") for c in cases):
        lines += [("*Smoke profile: a tiny student on fixture items; these figures check the machinery, not a "
                   "generator.*"), ""]
    return "\n".join(lines)


def _size_table(cases: list[dict[str, Any]]) -> list[str]:
    """--agora-sizes: PGR, cost and PGR per dollar at each prefix size (none when no case has sizes)."""
    from pytest_agorabench.report.size_curves import HEADER, size_rows

    rows = size_rows(cases)
    if not rows:
        return []
    out = ["### PGR by amount of data and its cost", "", "| " + " | ".join(HEADER) + " |", "|---" * len(HEADER) + "|"]
    out += ["| " + " | ".join(_escape(cell) for cell in row) + " |" for row in rows]
    return out + [""]


def write_markdown(path: Path, report: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(table2_markdown(report), encoding="utf-8")
    return path
