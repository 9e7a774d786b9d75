"""The contamination stage: a case's generated rows checked against the items of the benchmarks it
evaluates on (contamination/), keyed by the generation artifact, the items and the rule, so a rerun is
served from the store. ``--agora-decontaminate=drop`` removes the flagged rows before training."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

from pytest_agorabench.config import RunConfig
from pytest_agorabench.contamination import Rule
from pytest_agorabench.files import rows_hash, write_json_atomic
from pytest_agorabench.pipeline.evaluate import benchmark_items
from pytest_agorabench.pipeline.keys import STAGE_VERSIONS, Clock
from pytest_agorabench.store import Artifact, Store

DROP_REASON = "contaminated"


def contamination(
    store: Store, generation: Artifact, rows: list[dict], names: list[str], config: RunConfig, clock: Clock
) -> tuple[dict[str, Any], list[dict]]:
    """(the case's contamination report, the generated rows to train on: all of them in ``report`` mode,
    those not flagged in ``drop`` mode)."""
    items = {name: benchmark_items(name, config) for name in names}
    rule = Rule()
    inputs = {
        "version": STAGE_VERSIONS["contamination"],
        "generation": generation.key,
        "items": {name: rows_hash(found) for name, found in items.items()},
        "rule": asdict(rule),
    }

    def build(workdir: Path, key: str) -> dict[str, Any]:
        from pytest_agorabench.contamination import check

        report, flagged = check(rows, items, rule, on_progress=clock.counter("contamination", "rows"))
        write_json_atomic(workdir / "contamination.json", {"report": report, "flagged": flagged})
        return {"rows_flagged": report["rows_flagged"]}

    found = clock.run("contamination", lambda: store.once("contamination", inputs, build)).read_json(
        "contamination.json"
    )
    report = {**found["report"], "mode": config.decontaminate, "threshold": config.max_contamination}
    if config.decontaminate != "drop":
        return report, rows
    flagged = set(found["flagged"])
    report["dropped"] = len(flagged)
    return report, [row for pos, row in enumerate(rows) if pos not in flagged]


def over_threshold(report: dict[str, Any]) -> str | None:
    """Why the case fails --agora-max-contamination, naming the share, the threshold and the worst example;
    None when it does not."""
    threshold = report.get("threshold")
    if threshold is None or not report or report["share"] <= threshold:
        return None
    worst = report["worst"][0]
    return (
        f"{report['rows_flagged']} of {report['rows_checked']} generated rows copy benchmark items "
        f"(share {report['share']:.4f} > --agora-max-contamination {threshold:g}); worst: row {worst['row']} "
        f"({worst['row_field']}) copies {worst['benchmark']} item {worst['item']} ({worst['item_field']}, "
        f"{worst['kind']}): {worst['item_text']!r}"
    )
