"""Inner pytest runs with live progress: plain lines when the output is not a terminal (as here), none with
-q, the controller's lines for cases its xdist workers run, and reports that progress leaves unchanged.

The canned pipeline below goes through the pipeline's own Clock and count callbacks with the emitter the
plugin hands to run_case, so the events travel the real way: writer, file, display."""

import json
import re
import xml.etree.ElementTree as ET

import pytest

SUITE = '''
import pytest
from pytest_agorabench.settings import available_settings

@pytest.mark.parametrize("setting", available_settings("math"), ids=lambda s: s.id)
def test_setting(agorabench, setting):
    print("a line the test itself prints")
    agorabench.check(setting)
'''

CANNED = '''
import os
import time

import pytest
import pytest_agorabench.pipeline as pipeline
from pytest_agorabench.metrics.pgr import Estimate
from pytest_agorabench.pipeline.keys import Clock
from pytest_agorabench.result import BenchmarkOutcome, CaseResult


def canned_run_case(setting, config, store=None, servers=None, progress=None):
    clock = Clock(emit=progress)
    with clock.timed("seeds"):
        pass
    with clock.timed("generation"):
        count = clock.counter("generation", "instances")
        for done in range(5):
            count(done, 4, 1 if done > 2 else 0)
            # lets the display's thread draw while the test runs (and its output is captured)
            time.sleep(float(os.environ.get("AGORA_TEST_STEP_S", "0")))
    with clock.timed("judging", detail="alpaca_eval"):
        clock.counter("judging", "judgments", part="alpaca_eval")(6, 6)
    est = Estimate(point=30.0, low=25.0, high=35.0, undefined_reason=None, resamples=100)
    bench = [BenchmarkOutcome(name="gsm8k", items=40, student=20.0, base=10.0, reference=40.0,
                              reference_source="measured", pgr=est)]
    return CaseResult(setting=setting.key, generator=config.generator, student=config.student,
                      reference=config.reference, profile=config.profile.name, smoke=True, pgr=est,
                      benchmarks=bench, instances_requested=4, instances_valid=3, instances_dropped=1,
                      drops_by_reason={"result_tags": 1}, seed_rows=40, seed_drops={}, train_rows=43, attempts=5,
                      input_tokens=1000, output_tokens=500, cost_usd=None,
                      stage_seconds={k: round(v, 3) for k, v in clock.seconds.items()})


@pytest.fixture(autouse=True)
def _canned(monkeypatch):
    import pytest_agorabench.preflight as preflight

    monkeypatch.setattr(pipeline, "run_case", canned_run_case)
    monkeypatch.setattr(preflight, "model_problem", lambda model, cheap_call=False: None)
'''


@pytest.fixture
def inner(pytester):
    pytester.makeconftest(CANNED)
    pytester.makepyfile(test_math=SUITE)
    return pytester


def progress_lines(result):
    """A case's progress lines (``agorabench math/...: ...``), not the header's (``agorabench sandbox: ...``)."""
    return [line for line in result.stdout.lines if re.match(r"agorabench \S+/\S+", line)]


def test_plain_lines_show_stages_and_counts_of_each_case(inner):
    result = inner.runpytest("-p", "no:cacheprovider", "--agora-store=store")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines([
        "agorabench math/instance_generation: seeds",
        "agorabench math/instance_generation: generation",
        "agorabench math/instance_generation: generation done in 0:00, instances 4/4, 1 dropped",
        "agorabench math/instance_generation: judging (alpaca_eval)",
        "agorabench math/instance_generation: judging done in 0:00, instances 4/4, 1 dropped, judgments 6/6",
        "agorabench math/instance_generation: finished in 0:00",
    ])
    assert len(progress_lines(result)) == 3 * 6
    assert not (inner.path / "store" / "progress").exists()  # the session's event files are gone


def test_quiet_run_shows_no_progress_and_writes_no_events(inner):
    result = inner.runpytest("-p", "no:cacheprovider", "-q", "--agora-store=store")
    result.assert_outcomes(passed=3)
    assert progress_lines(result) == []
    off = inner.runpytest("-p", "no:cacheprovider", "--agora-progress=off", "--agora-store=store")
    assert progress_lines(off) == []


def test_the_controller_prints_the_cases_its_workers_run(inner):
    result = inner.runpytest("-p", "no:cacheprovider", "-n", "2", "--agora-store=store")
    result.assert_outcomes(passed=3)
    lines = progress_lines(result)
    for setting in ("instance_generation", "response_generation", "quality_enhancement"):
        assert [line for line in lines if f"math/{setting} [gw" in line and line.endswith("finished in 0:00")], lines
    assert {line.split("[", 1)[1][:3] for line in lines} <= {"gw0", "gw1"}
    assert not (inner.path / "store" / "progress").exists()


def _reports(inner, tag, *args):
    """A subprocess: its stdout is a real descriptor that pytest captures during each test, as for users."""
    result = inner.runpytest_subprocess(
        "-p", "no:cacheprovider", f"--agora-json={tag}.json", f"--junitxml={tag}.xml", "-o", "junit_logging=all",
        f"--agora-store={tag}-store", *args,
    )
    result.assert_outcomes(passed=3)
    cases = json.loads((inner.path / f"{tag}.json").read_text())["cases"]
    for case in cases:
        case.pop("stage_seconds")  # timings differ run to run
    tests = {}
    for tc in ET.parse(inner.path / f"{tag}.xml").getroot().iter("testcase"):
        props = {p.get("name"): p.get("value") for p in tc.iter("property") if not p.get("name").startswith("seconds_")}
        tests[tc.get("name")] = (props, "".join(el.text or "" for el in tc if el.tag in ("system-out", "system-err")))
    return result, cases, tests


@pytest.mark.parametrize("args", [(), ("-n", "2")], ids=["one process", "xdist"])
def test_progress_changes_nothing_in_junit_or_the_json_report(inner, args, monkeypatch):
    monkeypatch.setenv("AGORA_TEST_STEP_S", "0.2")
    on, on_cases, on_tests = _reports(inner, "on", "--agora-progress=plain", *args)
    off, off_cases, off_tests = _reports(inner, "off", "--agora-progress=off", *args)
    assert len(progress_lines(on)) == 3 * 6 and progress_lines(off) == []
    assert len(on_cases) == 3 and on_cases == off_cases
    assert on_tests == off_tests
    for _, output in on_tests.values():  # the test's own output is captured; progress is not in it
        assert "a line the test itself prints" in output and "agorabench math" not in output
