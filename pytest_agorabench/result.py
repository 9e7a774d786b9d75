"""What one case produces: the figures a gate, a JUnit property or the JSON report reads."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from pytest_agorabench.metrics.pgr import Estimate


@dataclass
class BenchmarkOutcome:
    name: str
    items: int
    student: float | None  # S_G's metric in percent (mean item score, or the benchmark's own metric)
    base: float | None  # S_0; None when a judged benchmark had no usable judgment
    reference: float | None  # S_ref
    reference_source: str  # "measured (model)" / "measured (gold: student trained on seed data)"
    pgr: Estimate
    # Judged benchmarks only: judgment counts (usable, failed by reason, cached) and the benchmark's own
    # figures (raw and length-controlled win rates, Arena-Hard intervals). Empty for the others.
    judging: dict[str, Any] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class CaseResult:
    setting: str  # "math/instance_generation"
    generator: str
    student: str
    reference: str
    profile: str
    smoke: bool  # smoke figures come from a tiny student and are not comparable to the paper's
    pgr: Estimate  # domain PGR (mean of the benchmarks' PGRs by default)
    benchmarks: list[BenchmarkOutcome]
    instances_requested: int
    instances_valid: int
    instances_dropped: int
    drops_by_reason: dict[str, int]
    seed_rows: int
    seed_drops: dict[str, int]
    train_rows: int
    attempts: int
    input_tokens: int
    output_tokens: int
    cost_usd: float | None
    # What changed the run without failing it, said once (e.g. seed rows capping --instances).
    notices: list[str] = field(default_factory=list)
    stage_seconds: dict[str, float] = field(default_factory=dict)
    cached_stages: list[str] = field(default_factory=list)  # served from the store, computed by an earlier run
    shared_stages: list[str] = field(default_factory=list)  # computed by another worker while this one waited
    store_notes: list[str] = field(default_factory=list)  # damaged artifacts found and recomputed
    artifacts: dict[str, str] = field(default_factory=dict)  # stage -> store key
    training: dict[str, Any] = field(default_factory=dict)
    judge: str | None = None  # the judge model, when a benchmark was judged
    judgments: dict[str, Any] = field(default_factory=dict)  # totals over the judged benchmarks
    intrinsic: dict[str, Any] = field(default_factory=dict)  # intrinsic.measure() output, or {"skipped": why}
    prompts: str = "agorabench"  # meta-prompt variant, or "folder:<path>"
    fence_stripped: int | None = None  # json variant: accepted outputs that came inside a code fence
    # --agora-structured: None when off; else accepted rows with a part closed by the provider at its token
    # deadline (force_closed) and outputs that broke the layout although constrained (misfits).
    structured: dict[str, int] | None = None
    budget: dict[str, Any] | None = None  # budget mode: how the instances were sized (generation/budget.py)
    servers: dict[str, Any] = field(default_factory=dict)  # vllm servers the case called, by served name
    repeats: dict[str, Any] | None = None  # --agora-repeats: PGR by training seed, the variance split
    # --agora-sizes: per prefix of the generation run (instances, valid, cost, PGR, PGR per dollar, student key;
    # pipeline/data_sizes.py). Left out of the JSON report when None, so a run without it reports as before.
    sizes: list[dict[str, Any]] | None = field(default=None, metadata={"report": "unless None"})
    # --agora-ray: the node the case ran on (host id, Ray node id, address, GPUs) and every attempt in order
    # (more than one: a lost node's case retried elsewhere). None: run in the pytest process.
    placement: dict[str, Any] | None = None
    # contamination/: generated rows checked against the case's benchmark items (counts by benchmark, the
    # worst flagged examples, near copies) and the --agora-decontaminate mode; {} in results saved before it.
    contamination: dict[str, Any] = field(default_factory=dict)
    gate: dict[str, Any] | None = None  # --agora-compare: the comparison with the baseline and the decision
    # Per benchmark: item ids and the scores of every seed's student, the base and the reference. Saved runs
    # and comparisons read it in the worker that ran the case; not part of the JSON report.
    item_scores: dict[str, Any] = field(default_factory=dict, repr=False, metadata={"report": False})

    def to_dict(self) -> dict[str, Any]:
        skip = {f.name for f in fields(self) if f.metadata.get("report") is False}
        skip |= {f.name for f in fields(self) if f.metadata.get("report") == "unless None" and getattr(self, f.name) is None}
        return {k: v for k, v in asdict(self).items() if k not in skip}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CaseResult:
        data = dict(data)
        data["pgr"] = Estimate(**data["pgr"])
        data["benchmarks"] = [
            BenchmarkOutcome(**{**b, "pgr": Estimate(**b["pgr"])}) for b in data["benchmarks"]
        ]
        return cls(**data)

    def junit_properties(self) -> list[tuple[str, Any]]:
        """Flat name/value pairs for JUnit <property> elements."""
        props: list[tuple[str, Any]] = [
            ("setting", self.setting),
            ("generator", self.generator),
            ("profile", self.profile),
            ("pgr", _fmt(self.pgr.point)),
            ("pgr_low", _fmt(self.pgr.low)),
            ("pgr_high", _fmt(self.pgr.high)),
        ]
        if self.pgr.interval_kind:
            props += [("pgr_interval_kind", self.pgr.interval_kind), ("pgr_interval_method", self.pgr.interval_method)]
        if self.pgr.excluded:
            props.append(("pgr_interval_excluded", f"{_fmt(self.pgr.excluded[0])} .. {_fmt(self.pgr.excluded[1])}"))
        if self.pgr.undefined_reason:
            props.append(("pgr_undefined", self.pgr.undefined_reason))
        for b in self.benchmarks:
            props += [
                (f"{b.name}_student", _fmt(b.student)),
                (f"{b.name}_base", _fmt(b.base)),
                (f"{b.name}_reference", _fmt(b.reference)),
                (f"{b.name}_pgr", _fmt(b.pgr.point)),
                (f"{b.name}_pgr_low", _fmt(b.pgr.low)),
                (f"{b.name}_pgr_high", _fmt(b.pgr.high)),
            ]
        props += [
            ("instances_requested", self.instances_requested),
            ("instances_valid", self.instances_valid),
            ("instances_dropped", self.instances_dropped),
            ("cost_usd", "unpriced" if self.cost_usd is None else f"{self.cost_usd:.6f}"),
            ("input_tokens", self.input_tokens),
            ("output_tokens", self.output_tokens),
            ("prompts", self.prompts),
        ]
        if self.fence_stripped is not None:
            props.append(("json_fence_stripped", self.fence_stripped))
        props.append(("structured", "off" if self.structured is None else "on"))
        if self.structured is not None:
            props += [("structured_force_closed", self.structured.get("force_closed", 0)),
                      ("structured_misfits", self.structured.get("misfits", 0))]
        props += [(f"server_{info['role']}", name) for name, info in sorted(self.servers.items())]
        if self.placement:
            props += [("node", self.placement["host"]), ("node_attempts", len(self.placement["attempts"]))]
        if self.gate:
            props += [
                ("baseline", self.gate["baseline"]),
                ("delta_pgr", _fmt(self.gate["delta_pgr"])),
                ("delta_pgr_low", _fmt(self.gate["delta_pgr_low"])),
                ("delta_pgr_high", _fmt(self.gate["delta_pgr_high"])),
                ("delta_pgr_interval_kind", self.gate.get("delta_pgr_interval_kind") or "none"),
                ("delta_pgr_interval_method", self.gate.get("delta_pgr_interval_method") or "none"),
                ("delta_p", "undefined" if self.gate["delta_p"] is None else f"{self.gate['delta_p']:.4g}"),
                ("gate", self.gate["gate"]),
                ("gate_reason", self.gate["gate_reason"]),
            ]
        if self.budget:
            props += [
                ("budget_usd", f"{self.budget['budget_usd']:g}"),
                ("budget_spent_usd", f"{self.budget['spent_usd']:.6f}"),
                ("budget_sized_instances", self.budget["sized_instances"]),
            ]
        if self.contamination:
            c = self.contamination
            props += [("contaminated_rows", c["rows_flagged"]), ("contaminated_share", f"{c['share']:.4f}"),
                      ("contaminated_near_copies", c["near_copies"]), ("decontaminate", c["mode"])]
            props += [(f"{name}_contaminated_rows", b["rows_flagged"]) for name, b in c["by_benchmark"].items()]
        props += [(f"drops_{reason}", n) for reason, n in sorted(self.drops_by_reason.items())]
        props += [("notice", text) for text in self.notices]
        if self.judgments:
            props += [
                ("judge", self.judge),
                ("judgments", self.judgments.get("total", 0)),
                ("judgments_usable", self.judgments.get("usable", 0)),
                ("judgments_cached", self.judgments.get("cached", 0)),
            ]
            props += [(f"judgments_failed_{r}", n) for r, n in sorted(self.judgments.get("failed", {}).items())]
            props += [(f"{b.name}_items_used", b.judging.get("items_used", 0)) for b in self.benchmarks if b.judging]
        for name, value in sorted(self.intrinsic.get("metrics", {}).items()):
            props.append((f"intrinsic_{name}", "undefined" if value is None else f"{value:.4f}"))
        skipped = self.intrinsic.get("skipped")
        if isinstance(skipped, dict):  # measured, with some scorers left out: one property each
            props += [(f"intrinsic_skipped_{scorer}", why) for scorer, why in sorted(skipped.items())]
        elif skipped:  # the whole stage left out
            props.append(("intrinsic_skipped", skipped))
        for size in self.sizes or ():  # --agora-sizes: PGR and cost per prefix
            n, est, cost = size["instances"], size["pgr"], size.get("cost_usd")
            props += [(f"size_{n}_pgr", _fmt(est["point"])), (f"size_{n}_pgr_low", _fmt(est["low"])),
                      (f"size_{n}_pgr_high", _fmt(est["high"])),
                      (f"size_{n}_cost_usd", "unpriced" if cost is None else f"{cost:.6f}")]
        props += [(f"seconds_{stage}", f"{s:.2f}") for stage, s in self.stage_seconds.items()]
        return props


def _fmt(value: float | None) -> str:
    return "undefined" if value is None else f"{value:.2f}"
