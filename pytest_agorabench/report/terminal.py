"""The terminal summary table of a session."""

from __future__ import annotations

from typing import Any

from pytest_agorabench.report.estimate_text import interval, number
from pytest_agorabench.report.size_curves import terminal_lines


def summary_lines(cases: list[dict[str, Any]], summary: dict[str, Any]) -> list[str]:
    header = ("setting", "outcome", "PGR % [95% CI]", "S_G / S_0 / S_ref by benchmark", "valid/req", "cost $", "cached")
    compared = any(c.get("gate") for c in cases)
    if compared:
        header += ("delta PGR [95% CI] vs baseline",)
    rows = []
    for c in cases:
        scores = "; ".join(
            f"{b['name']} {number(b['student'])}/{number(b['base'])}/{number(b['reference'])}" for b in c["benchmarks"]
        )
        cost = "-" if c["cost_usd"] is None else f"{c['cost_usd']:.4f}"
        cached = "all" if {"generation", "training", "evaluation"} <= set(c["cached_stages"]) else (
            ",".join(c["cached_stages"]) or "-"
        )
        rows.append(
            (
                c["setting"],
                c.get("outcome", "?"),
                interval(c["pgr"]),
                scores,
                f"{c['instances_valid']}/{c['instances_requested']}",
                cost,
                cached,
            ) + ((delta_text(c.get("gate")),) if compared else ())
        )
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    lines = [fmt.format(*header), fmt.format(*("-" * w for w in widths))]
    lines += [fmt.format(*r) for r in rows]
    judged = [c for c in cases if c.get("judgments")]
    if judged:
        lines.append("judgments usable (judge):")
        for c in judged:
            j = c["judgments"]
            failed = ", ".join(f"{reason} {n}" for reason, n in j.get("failed", {}).items()) or "none"
            lines.append(
                f"  {c['setting']}: {j['usable']}/{j['total']} usable, {j.get('cached', 0)} cached, "
                f"failed: {failed} ({c.get('judge')})"
            )
    lines += contamination_lines(cases)
    notices = [f"  {c['setting']}: {n}" for c in cases for n in c.get("notices", [])]
    if notices:
        lines += ["notices:", *notices]
    lines += terminal_lines(cases)
    undefined = [f"  {c['setting']}: {c['pgr']['undefined_reason']}" for c in cases if c["pgr"]["undefined_reason"]]
    if undefined:
        lines += ["PGR undefined:", *undefined]
    gate = summary.get("gate")
    if gate:
        lines.append(
            f"gate vs {gate['baseline']} (max drop {gate['margin']:g} PGR points): {gate['failed']} of "
            f"{gate['gated']} case(s) failed (Bonferroni, per case); Holm over the session: "
            f"{', '.join(gate['holm_failed']) or 'none'} significant"
        )
    score = summary["generator_score"]
    if score is None and summary.get("generator_score_note"):
        lines.append(f"generator score: {summary['generator_score_note']}")
    else:
        lines.append(
            f"generator score (mean PGR over {summary['cells_defined']} of {summary['cells']} cells): {number(score)}"
        )
    if any(c.get("smoke") for c in cases):
        lines.append("smoke profile: tiny student on fixture items; these figures check the machinery, not a generator.")
    return lines


def contamination_lines(cases: list[dict[str, Any]]) -> list[str]:
    """Per case: generated rows that copy benchmark items, by benchmark, near copies, and the worst copy."""
    checked = [c for c in cases if c.get("contamination")]
    if not checked:
        return []
    lines = ["contamination (generated rows copying benchmark items):"]
    for c in checked:
        k = c["contamination"]
        by = ", ".join(f"{name} {b['rows_flagged']}" for name, b in k["by_benchmark"].items())
        dropped = "dropped" if k["mode"] == "drop" else "kept"
        lines.append(f"  {c['setting']}: {k['rows_flagged']}/{k['rows_checked']} flagged ({by}; {dropped}), "
                     f"{k['near_copies']} near copies")
        for m in k["worst"][:1] + k["near_examples"][:1]:
            lines.append(f"    {m['kind']}: row {m['row']} ({m['row_field']}) ~ {m['benchmark']} item {m['item']} "
                         f"{m['item_text'][:60]!r}")
    return lines


def delta_text(gate: dict[str, Any] | None) -> str:
    if not gate:
        return "-"
    from pytest_agorabench.gate.compare import delta_text as with_set

    return f"{with_set(gate)} {gate.get('gate')}"
