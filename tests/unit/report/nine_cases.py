"""A nine-case report built from real CaseResult objects (the shape the plugin writes), for the report
writers' tests: one cell with an undefined PGR, one gate block (math/response_generation) and the gate summary."""

from pytest_agorabench.metrics.pgr import Estimate
from pytest_agorabench.report.json_report import build_report
from pytest_agorabench.result import BenchmarkOutcome, CaseResult
from pytest_agorabench.settings import SETTINGS

# intrinsic.measure()'s shape, abridged: values by metric, rows scored, failures, scorers not run.
INTRINSIC = {
    "metrics": {"instruction_diversity": 0.41, "response_perplexity": 12.5, "response_quality_smol_judge": None},
    "scored": {"instruction_diversity": 3, "response_perplexity": 3, "response_quality_smol_judge": 0},
    "failures": {"response_quality_smol_judge": {"unparseable": 3}, "response_perplexity": {}},
    "skipped": {"reward_model": "no reward model configured"},
    "errors": {}, "logs": {}, "rows": 3, "sampled_rows": 3,
}
BENCHMARKS = {"math": ("gsm8k", "math"), "code": ("mbpp", "humaneval"), "instruction_following": ("alpaca_eval", "arena_hard")}


def case(setting: str, point: float | None, generator: str = "gen-v8", gate: bool = False) -> dict:
    undefined = None if point is not None else "reference-base gap below the minimum: S_ref 10.0 vs S_0 10.0"
    pgr = Estimate(point, None if point is None else point - 12, None if point is None else point + 9, undefined, 2000)
    benches = [BenchmarkOutcome(name, 20, 45.0, 10.0, 50.0, "measured (gold)", pgr) for name in BENCHMARKS[setting.split("/")[0]]]
    result = CaseResult(
        setting=setting, generator=generator, student="tiny", reference="gold", profile="smoke", smoke=True, pgr=pgr,
        benchmarks=benches, instances_requested=4, instances_valid=3, instances_dropped=1,
        drops_by_reason={"result_tags": 1}, seed_rows=10, seed_drops={}, train_rows=3, attempts=6,
        input_tokens=1500, output_tokens=700, cost_usd=0.0,
        stage_seconds={"generation": 30.5, "training": 12.0, "evaluation": 8.25},
        cached_stages=["evaluation"], intrinsic=INTRINSIC,
        gate={"baseline": "v7", "delta_pgr": -20.0, "delta_pgr_low": -31.0, "delta_pgr_high": -9.0, "delta_p": 0.001,
              "gate": "failed", "gate_reason": "PGR dropped by more than 5 points"} if gate else None,
    )
    return {**result.to_dict(), "outcome": "failed" if gate else "passed", "nodeid": f"suites::{setting}"}


def nine_case_report() -> dict:
    cases = []
    for i, setting in enumerate(SETTINGS):
        point = None if setting.key == "code/quality_enhancement" else 10.0 * i
        cases.append(case(setting.key, point, gate=setting.key == "math/response_generation"))
    report = build_report(cases, {"profile": "smoke", "student": "tiny", "reference": "gold", "judge": "smollm2-135m"})
    report["summary"]["gate"] = {"baseline": "v7", "margin": 5.0, "gated": 9, "failed": 1,
                                 "holm_failed": ["math/response_generation"], "note": ""}
    return report
