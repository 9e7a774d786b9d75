"""A Fieller set reaches every report with its kind: terminal text, JUnit properties, the HTML page, and the
gate's one-line description; notices (an --instances cap) reach JUnit and HTML."""

from pathlib import Path

from pytest_agorabench.metrics.interval_text import ratio_text
from pytest_agorabench.metrics.pgr import Estimate
from pytest_agorabench.report.estimate_text import interval
from pytest_agorabench.report.html_page import render_html
from pytest_agorabench.report.json_report import build_report
from pytest_agorabench.report.terminal import delta_text
from pytest_agorabench.result import BenchmarkOutcome, CaseResult

TWO_RAYS = Estimate(80.0, None, None, None, 2000, 160, "two rays", "fieller", [12.5, 300.0])
EVERYTHING = Estimate(100.0, None, None, None, 2000, 200, "everything", "fieller")
ONE_RAY = Estimate(60.0, 10.0, None, None, 2000, 150, "one ray", "fieller")


def _case(pgr: Estimate, notices=()) -> CaseResult:
    bench = BenchmarkOutcome("gsm8k", 20, 20.0, 5.0, 20.0, "measured (gold)", pgr)
    return CaseResult(
        setting="math/response_generation", generator="g", student="tiny", reference="gold", profile="smoke",
        smoke=True, pgr=pgr, benchmarks=[bench], instances_requested=500, instances_valid=80, instances_dropped=0,
        drops_by_reason={}, seed_rows=80, seed_drops={}, train_rows=80, attempts=80, input_tokens=1,
        output_tokens=1, cost_usd=0.0, notices=list(notices),
    )


def test_the_text_of_each_kind():
    assert interval(TWO_RAYS.__dict__) == "80.0 [-inf, 12.5 or 300.0, +inf Fieller]"
    assert interval(EVERYTHING.__dict__) == "100.0 [-inf, +inf Fieller]"
    assert interval(ONE_RAY.__dict__) == "60.0 [10.0, +inf Fieller]"
    bounded = Estimate(50.0, 40.0, 60.0, None, 2000, 0, "bounded", "bootstrap percentile")
    assert interval(bounded.__dict__) == "50.0 [40.0, 60.0]"
    assert interval(Estimate(None, None, None, "gap", 0).__dict__) == "undefined"
    assert ratio_text(-3.0, None, None, "two rays", [-20.0, 4.0], "fieller", signed=True) == (
        "-3.0 [-inf, -20.0 or +4.0, +inf Fieller]")


def test_junit_carries_the_kind_the_method_and_the_excluded_gap_and_notices():
    props = _case(TWO_RAYS, ["500 instances asked, 80 generated"]).junit_properties()
    found = dict(props)
    assert found["pgr_interval_kind"] == "two rays" and found["pgr_interval_method"] == "fieller"
    assert found["pgr_interval_excluded"] == "12.50 .. 300.00" and found["pgr_low"] == "undefined"
    assert ("notice", "500 instances asked, 80 generated") in props


def test_the_html_page_says_fieller_and_shows_notices(tmp_path: Path):
    report = build_report([_case(EVERYTHING, ["500 instances asked, 80 generated"]).to_dict()], {"profile": "smoke"})
    page = render_html(report, tmp_path)
    assert "100.0 [-inf, +inf Fieller]" in page and "Fieller's set (everything)" in page
    assert "Notice: 500 instances asked, 80 generated" in page


def test_the_gates_delta_text_names_the_set():
    gate = {"delta_pgr": 0.0, "delta_pgr_low": None, "delta_pgr_high": None, "delta_pgr_interval_kind": "everything",
            "delta_pgr_excluded": None, "delta_pgr_interval_method": "fieller", "gate": "passed"}
    assert delta_text(gate) == "+0.0 [-inf, +inf Fieller] passed"
