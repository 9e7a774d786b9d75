"""Inner pytest runs of the plugin: options, collection, reports, gates, xdist.

The inner runs replace the pipeline with a canned one (conftest below) so these tests check the plugin's
own machinery quickly; the real pipeline runs end to end in tests/e2e.
"""

import json
import xml.etree.ElementTree as ET

import pytest

SUITE = '''
import pytest
from pytest_agorabench.settings import available_settings

@pytest.mark.parametrize("setting", available_settings("math"), ids=lambda s: s.id)
def test_setting(agorabench, setting):
    agorabench.check(setting)
'''

CANNED = '''
import pytest
import pytest_agorabench.pipeline as pipeline
from pytest_agorabench.metrics.pgr import Estimate
from pytest_agorabench.result import BenchmarkOutcome, CaseResult

POINTS = {"math/instance_generation": 30.0, "math/response_generation": 8.0, "math/quality_enhancement": None}


def canned_run_case(setting, config, store=None, servers=None, progress=None):
    p = POINTS[setting.key]
    est = (Estimate(point=p, low=p - 5, high=p + 5, undefined_reason=None, resamples=100) if p is not None
           else Estimate(point=None, low=None, high=None, undefined_reason="reference gap below one item", resamples=100))
    bench = [BenchmarkOutcome(name=n, items=40, student=20.0, base=10.0, reference=40.0, reference_source="measured",
                              pgr=est) for n in ("gsm8k", "math")]
    return CaseResult(setting=setting.key, generator=config.generator, student=config.student,
                      reference=config.reference, profile=config.profile.name, smoke=True, pgr=est,
                      benchmarks=bench, instances_requested=config.instances, instances_valid=config.instances - 1,
                      instances_dropped=1, drops_by_reason={"math_result_tags": 1}, seed_rows=40, seed_drops={},
                      train_rows=43, attempts=5, input_tokens=1000, output_tokens=500,
                      cost_usd=None, stage_seconds={"generation": 1.0})


@pytest.fixture(autouse=True)
def _canned(monkeypatch):
    import pytest_agorabench.preflight as preflight

    monkeypatch.setattr(pipeline, "run_case", canned_run_case)
    monkeypatch.setattr(preflight, "model_problem", lambda model, cheap_call=False: None)  # no model is called
'''


@pytest.fixture
def inner(pytester):
    pytester.makeconftest(CANNED)
    pytester.makepyfile(test_math=SUITE)
    return pytester


def test_collects_the_three_math_cases_with_readable_ids(inner):
    result = inner.runpytest("--collect-only", "-q")
    result.stdout.fnmatch_lines(
        [
            "test_math.py::test_setting[[]math-instance_generation[]]",
            "test_math.py::test_setting[[]math-response_generation[]]",
            "test_math.py::test_setting[[]math-quality_enhancement[]]",
        ]
    )


def test_marked_cases_alternate_domains_response_generation_first_and_other_tests_keep_their_places(pytester):
    """xdist hands items out in collection order: cases that start together should not share a domain's
    reference and baselines (case_order.py)."""
    pytester.makepyfile(test_two_domains='''
import pytest
from pytest_agorabench.settings import available_settings

@pytest.mark.agorabench
@pytest.mark.parametrize("setting", available_settings("code"), ids=lambda s: s.id)
def test_code(setting):
    pass

def test_plain():
    pass

@pytest.mark.agorabench
@pytest.mark.parametrize("setting", available_settings("math"), ids=lambda s: s.id)
def test_math(setting):
    pass
''')
    result = pytester.runpytest("--collect-only", "-q")
    result.stdout.fnmatch_lines(
        [
            "*::test_code[[]code-response_generation[]]",
            "*::test_math[[]math-response_generation[]]",
            "*::test_code[[]code-instance_generation[]]",
            "*::test_plain",
            "*::test_math[[]math-instance_generation[]]",
            "*::test_code[[]code-quality_enhancement[]]",
            "*::test_math[[]math-quality_enhancement[]]",
        ],
        consecutive=True,
    )


@pytest.mark.parametrize(
    "args, message",
    [
        (["--generator=gpt4o"], "*Did you mean 'gpt-4o'*"),
        (["--agora-profile=fast"], "*invalid choice*"),
        (["--agora-gate=mean"], "*invalid choice*"),
        (["--agora-prompts=jsn"], "*neither a prompt variant (agorabench, unoptimized, json) nor an existing folder*"),
        (["--agora-budget=5"], "*the generator 'smollm2-135m' is free (price 0)*"),
        (["--generator=gpt-4o", "--agora-prices=nope.toml"], "*--agora-prices: cannot read*"),
        (["--agora-compare=never-saved"], "*--agora-compare: no saved run at *runs/never-saved*"),
        (["--agora-max-drop=5"], "*--agora-max-drop gates a comparison: name the saved run with --agora-compare*"),
        (["--agora-repeats=0"], "*--agora-repeats: must be at least 1*"),
        (["--agora-html=."], "*--agora-html: * is a directory; name the report file to write*"),
        (["--agora-md=test_math.py/t.md"], "*--agora-md: cannot write *test_math.py is a file, not a folder*"),
    ],
)
def test_bad_option_is_a_usage_error(inner, args, message):
    result = inner.runpytest(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])


def test_pyproject_table_is_read_and_validated(inner):
    inner.makefile(".toml", pyproject='[tool.agorabench]\ngenerator = "nope"\n')
    result = inner.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--generator: unknown model alias 'nope'*"])


def test_report_junit_and_summary(inner):
    report = inner.path / "out.json"
    result = inner.runpytest(f"--agora-json={report}", "--junitxml=junit.xml", "--instances=6")
    result.assert_outcomes(passed=3)
    data = json.loads(report.read_text())
    assert data["schema"] == "pytest-agorabench/report" and data["schema_version"] == 1
    assert [c["setting"] for c in data["cases"]] == [
        "math/instance_generation",
        "math/quality_enhancement",
        "math/response_generation",
    ]
    assert data["config"]["instances"] == 6
    assert data["summary"]["cells_defined"] == 2 and data["summary"]["generator_score"] == 19.0
    props = {
        p.get("name"): p.get("value")
        for p in ET.parse(inner.path / "junit.xml").getroot().iter("property")
    }
    for name in ("pgr", "pgr_low", "pgr_high", "gsm8k_student", "math_reference", "instances_requested",
                 "instances_valid", "instances_dropped", "cost_usd", "seconds_generation", "drops_math_result_tags"):
        assert name in props, name
    result.stdout.fnmatch_lines(["*agorabench*", "*math/instance_generation*30.0 [[]25.0, 35.0[]]*", "*JSON report:*",
                                 f"HTML report: {inner.path / 'out.html'}"])
    assert 'href="#math-instance_generation"' in (inner.path / "out.html").read_text()  # next to the JSON


def test_the_sandbox_layer_is_said_once_in_the_header_the_json_report_and_junit(inner):
    from pytest_agorabench.sandbox.isolation import isolation

    expected = isolation().describe()  # bwrap (...) here, or none (why) on a machine without the boundary
    report = inner.path / "out.json"
    result = inner.runpytest(f"--agora-json={report}", "--junitxml=junit.xml", "-k", "instance_generation")
    result.assert_outcomes(passed=1)
    assert json.loads(report.read_text())["config"]["sandbox_isolation"] == expected
    suite = ET.parse(inner.path / "junit.xml").getroot().find("testsuite")
    props = [(p.get("name"), p.get("value")) for p in suite.find("properties").iter("property")]
    assert ("sandbox_isolation", expected) in props
    assert sum(line.startswith("agorabench sandbox: ") for line in result.outlines) == 1
    result.stdout.fnmatch_lines([f"agorabench sandbox: {expected}"])


def test_a_json_report_named_html_is_not_overwritten_by_the_page(inner):
    inner.runpytest("--agora-json=out.html", "-k", "instance_generation").assert_outcomes(passed=1)
    assert json.loads((inner.path / "out.html").read_text())["schema"] == "pytest-agorabench/report"
    assert "<table" in (inner.path / "out.html.page.html").read_text()


def test_markdown_table2_on_request_and_html_off(inner):
    result = inner.runpytest("--agora-md=summary/table2.md", "--agora-html=off", "-n", "2")
    result.assert_outcomes(passed=3)
    text = (inner.path / "summary" / "table2.md").read_text()
    assert "| Instance generation | 30.0 [25.0, 35.0] | not run | not run | 30.0 |" in text
    assert not list(inner.path.rglob("*.html"))
    result.stdout.fnmatch_lines(["Markdown Table 2: *table2.md"])


def test_min_pgr_gate_shows_the_numbers(inner):
    result = inner.runpytest("--min-pgr=10")
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines(["*math/response_generation: PGR 8.00 is below --min-pgr 10*gsm8k: student 20.0*"])
    result.stdout.fnmatch_lines(["*math/quality_enhancement: cannot gate*reference gap below one item*"])


def test_gate_on_lower_bound(inner):
    result = inner.runpytest("--min-pgr=26", "--agora-gate=low", "-k", "instance_generation")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*PGR lower bound 25.00 is below --min-pgr 26*"])


def test_per_setting_threshold_from_pyproject(inner):
    inner.makefile(".toml", pyproject='[tool.agorabench.min_pgr_by_setting]\n"math/instance_generation" = 40\n')
    result = inner.runpytest("-k", "instance_generation or response_generation")
    result.assert_outcomes(passed=1, failed=1)


def test_xdist_workers_send_their_cases_to_the_report(inner):
    report = inner.path / "out.json"
    result = inner.runpytest("-n", "2", f"--agora-json={report}")
    result.assert_outcomes(passed=3)
    data = json.loads(report.read_text())
    assert len(data["cases"]) == 3
    assert all(c["nodeid"].startswith("test_math.py::") for c in data["cases"])


def test_fixture_in_a_users_own_test_with_overrides(inner):
    inner.makepyfile(
        test_user='''
def test_our_generator(agorabench):
    result = agorabench.case("math/instance_generation", generator="gpt-4o-mini", instances=9)
    assert result.generator == "gpt-4o-mini" and result.instances_requested == 9
    assert result.pgr.low >= 20

def test_bad_override_fails_cleanly(agorabench):
    agorabench.case("math/instance_generation", generator="gpt-5o")
'''
    )
    result = inner.runpytest("test_user.py")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*agorabench: --generator: unknown model alias 'gpt-5o'*"])


def test_hook_amends_the_json_report(inner):
    inner.makeconftest(
        CANNED
        + '''
def pytest_agorabench_json_report(report):
    report["team"] = "data-gen"
'''
    )
    report = inner.path / "out.json"
    inner.runpytest(f"--agora-json={report}").assert_outcomes(passed=3)
    assert json.loads(report.read_text())["team"] == "data-gen"


def test_no_report_when_no_case_ran(inner):
    inner.makepyfile(test_other="def test_plain():\n    assert True\n")
    result = inner.runpytest("test_other.py")
    result.assert_outcomes(passed=1)
    assert not (inner.path / ".agorabench" / "report.json").exists()
