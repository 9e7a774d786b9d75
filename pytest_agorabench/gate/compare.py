"""One case against its baseline: delta PGR with a paired bootstrap, per-benchmark paired tests, and the
gate's decision (fail only on a drop beyond the margin that is significant after the correction for the
number of gated cases). The decision is the linear form's (gate/stats.py), which a noisy reference-base gap
cannot make undefined; the gate fails closed only on what is missing: too many unjudged items, or benchmark
items the baseline does not have."""

from __future__ import annotations

from typing import Any

import numpy as np

from pytest_agorabench.gate import stats
from pytest_agorabench.gate.saved_runs import SavedRunError, differences
from pytest_agorabench.metrics.interval_text import ratio_text

ALPHA = 0.05


def _items(record: dict[str, Any], keep: dict[str, set[str]] | None = None) -> list[stats.Items]:
    out = []
    for name in sorted(record["item_scores"]):
        entry = record["item_scores"][name]
        student = np.asarray(entry["student"], dtype=float)
        finite = np.all(np.isfinite(student), axis=0)
        wanted = keep.get(name) if keep else None
        mask = np.asarray([bool(f) and (wanted is None or i in wanted) for i, f in zip(entry["ids"], finite)])
        ids = tuple(i for i, m in zip(entry["ids"], mask) if m)
        out.append(stats.Items(ids, student[:, mask], np.asarray(entry["base"])[mask],
                               np.asarray(entry["reference"])[mask]))
    return out


def _common_items(run: dict[str, Any], baseline: dict[str, Any]) -> dict[str, set[str]]:
    return {name: set(run["item_scores"][name]["ids"]) & set(baseline["item_scores"][name]["ids"])
            for name in run["item_scores"]}


def _shared_baselines(run: dict[str, Any], baseline: dict[str, Any]) -> bool:
    """Both runs used the same S_0 and S_ref artifacts (the same store keys and the same item scores)."""
    keys = ("student_init", "baseline_base", "baseline_reference", "reference_training")
    same_keys = all(run["store_keys"].get(k) == baseline["store_keys"].get(k) for k in keys)
    same_scores = all(
        run["item_scores"][n]["base"] == baseline["item_scores"][n]["base"]
        and run["item_scores"][n]["reference"] == baseline["item_scores"][n]["reference"]
        for n in run["item_scores"]
        if run["item_scores"][n]["ids"] == baseline["item_scores"][n]["ids"]
    )
    return same_keys and same_scores


def unjudged_problem(record: dict[str, Any], max_failures: float) -> str | None:
    """Fail closed: a benchmark where more than ``max_failures`` of the items have no usable judgment."""
    problems = []
    for name, counts in sorted(record.get("items_without_judgment", {}).items()):
        items, used = counts["items"], counts["used"]
        if items and (items - used) / items > max_failures:
            problems.append(f"{name}: {items - used} of {items} items have no usable judgment")
    if not problems:
        return None
    return f"more than {max_failures:.0%} of the items failed: " + "; ".join(problems)


def compare(
    run: dict[str, Any], baseline: dict[str, Any], *, margin: float | None, tests: int, max_failures: float,
    resamples: int = 2000, seed: int = 0, baseline_name: str = "",
) -> dict[str, Any]:
    """The case's ``gate`` block: the comparison and, when ``margin`` is given, the decision."""
    refused = differences(run, baseline)
    if refused:
        raise SavedRunError(f"{run['setting']} cannot be compared with {baseline_name or 'the baseline'}: "
                            + "; ".join(refused))
    common = _common_items(run, baseline)
    missing = sorted(name for name, ids in common.items() if not ids)
    # Judged benchmarks keep run-dependent items: with none in common there is nothing to compare.
    no_items = f"the baseline has none of this run's items for {', '.join(missing)}" if missing else None
    if no_items:
        delta, per_benchmark = stats.Interval(None, None, None, 0, undefined_reason=no_items), {}
    else:
        mine, theirs = _items(run, common), _items(baseline, common)
        delta = stats.paired_delta(mine, theirs, margin=margin or 0.0, resamples=resamples, seed=seed)
        per_benchmark = {name: stats.item_test(a, b) for name, a, b in zip(sorted(run["item_scores"]), mine, theirs)}
    level = stats.bonferroni(ALPHA, tests)
    block: dict[str, Any] = {
        "baseline": baseline_name,
        "baseline_generator": baseline.get("generator"),
        "baseline_pgr": baseline.get("pgr", {}).get("point"),
        "delta_pgr": delta.point,
        "delta_pgr_low": delta.low,
        "delta_pgr_high": delta.high,
        "delta_pgr_interval_kind": delta.interval_kind,
        "delta_pgr_interval_method": delta.interval_method,
        "delta_pgr_excluded": delta.excluded,
        "delta_pgr_undefined": delta.undefined_reason,
        "linear_form": delta.extra.get("linear_form"),
        "delta_p": delta.extra.get("p_worse"),
        "p_drop": delta.extra.get("p_drop"),
        "margin": margin,
        "level": level,
        "gated_cases": tests,
        "seeds": {"run": run.get("seeds"), "baseline": baseline.get("seeds")},
        "s0_sref": "shared (the same S_0 and S_ref artifacts and scores)" if _shared_baselines(run, baseline)
        else "each run's own S_0 and S_ref",
        "benchmarks": per_benchmark,
        "resamples": delta.resamples,
        "dropped_resamples": delta.dropped,
    }
    if margin is None:
        block.update(gate="not gated", gate_reason="no --agora-max-drop given")
        return block
    failed_closed = no_items or unjudged_problem(run, max_failures) or unjudged_problem(baseline, max_failures)
    if failed_closed:
        block.update(gate="failed", gate_reason=f"fails closed: {failed_closed}")
    elif block["p_drop"] < level:
        block.update(gate="failed", gate_reason=(
            f"PGR dropped by more than {margin:g} points: p = {block['p_drop']:.4f} < {level:.4f} "
            f"(5 % over {tests} gated case(s), Bonferroni; linear form, {block['linear_form']})"))
    else:
        wide = delta.low is None or delta.low < -margin
        block.update(gate="passed", gate_reason=(
            f"no significant drop beyond {margin:g} points: p = {block['p_drop']:.4f} >= {level:.4f}"
            + (" (the interval is wide: no evidence of a drop, not evidence of none)" if wide else "")))
    return block


def describe(block: dict[str, Any]) -> str:
    """One line for a failure message and the terminal: delta with its interval and the decision."""
    return (f"delta PGR {delta_text(block)} vs {block['baseline']} ({block['s0_sref']}); "
            f"{block['gate']}: {block['gate_reason']}")


def delta_text(block: dict[str, Any]) -> str:
    """Delta PGR with its 95 % set, as every report writes it."""
    return ratio_text(block["delta_pgr"], block["delta_pgr_low"], block["delta_pgr_high"],
                      block.get("delta_pgr_interval_kind"), block.get("delta_pgr_excluded"),
                      block.get("delta_pgr_interval_method"), signed=True)
