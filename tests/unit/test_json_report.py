"""The JSON report's run summary: Table-2 means, and the run's cost and PGR per dollar (paper section 7)."""

import json

import pytest

from pytest_agorabench.cli import main
from pytest_agorabench.report.json_report import (
    SCHEMA,
    ReportError,
    aggregates,
    build_report,
    load_report,
    merge_reports,
)


def _case(setting, point, cost):
    return {"setting": setting, "pgr": {"point": point}, "cost_usd": cost}


def test_run_cost_and_pgr_per_dollar():
    summary = aggregates([_case("math/instance_generation", 20.0, 1.5), _case("code/response_generation", 10.0, 0.5)])
    assert summary["generator_score"] == 15.0
    assert summary["cost_usd"] == 2.0
    assert summary["pgr_per_usd"] == 7.5


def test_no_headline_score_when_most_cells_are_undefined():
    from pytest_agorabench.report.terminal import summary_lines

    cases = [_case("math/instance_generation", 100.0, 0.0)] + [
        _case(f"code/{m}", None, 0.0) for m in ("instance_generation", "response_generation")
    ]
    summary = aggregates(cases)
    assert summary["generator_score"] is None and summary["pgr_per_usd"] is None
    assert summary["generator_score_note"] == "not reported: only 1 of 3 cells have a defined PGR"
    full = [{**c, "outcome": "passed", "benchmarks": [], "instances_valid": 0, "instances_requested": 4,
             "cached_stages": [], "pgr": {"point": c["pgr"]["point"], "low": None, "high": None,
                                          "undefined_reason": None if c["pgr"]["point"] is not None else "gap"}}
            for c in cases]
    text = "\n".join(summary_lines(full, summary))
    assert "generator score: not reported: only 1 of 3 cells" in text and "100.0" not in text.split("generator score")[1]


def test_a_run_with_an_unpriced_case_has_no_cost_figure():
    summary = aggregates([_case("math/instance_generation", 20.0, 1.5), _case("math/response_generation", 5.0, None)])
    assert summary["cost_usd"] is None and summary["pgr_per_usd"] is None


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"[1, 2, 3]", r"is not a pytest-agorabench report \(it holds a JSON list, not an object\)"),
        (b"\x89PNG\r\n\x1a\n\x00\xff", r"is not UTF-8 text"),
        (b"{not json", r"is not JSON"),
        (json.dumps({"schema": "other"}).encode(), r"is not a pytest-agorabench report$"),
        (json.dumps({"schema": SCHEMA}).encode(), r"has no list of cases"),
    ],
)
def test_bad_report_files_are_clear_errors_naming_the_file(tmp_path, capsys, content, message):
    path = tmp_path / "r.json"
    path.write_bytes(content)
    with pytest.raises(ReportError, match=message) as info:
        load_report(path)
    assert str(path) in str(info.value)
    assert main(["report", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"agorabench report: {path}") and err.count("\n") == 1 and "Traceback" not in err


def test_missing_report_and_a_good_one(tmp_path):
    with pytest.raises(ReportError, match="does not exist"):
        load_report(tmp_path / "nope.json")
    path = tmp_path / "ok.json"
    path.write_text(json.dumps(build_report([_case("math/instance_generation", 20.0, 1.5)], {})))
    assert load_report(path)["cases"][0]["setting"] == "math/instance_generation"


def _full_case(setting, point, **changes):
    case = {
        "setting": setting, "generator": "gpt-4o-mini", "student": "tiny", "reference": "gold",
        "profile": "smoke", "prompts": "agorabench", "judge": None, "instances_requested": 4,
        "pgr": {"point": point, "low": None, "high": None, "undefined_reason": None}, "benchmarks": [],
        "instances_valid": 4, "cost_usd": 0.5, "stage_seconds": {"generate": 1.0}, "cached_stages": [],
    }
    return {**case, **changes}


def _write(path, cases):
    path.write_text(json.dumps(build_report(cases, {})))
    return str(path)


def test_the_same_report_twice_counts_each_case_once(tmp_path, capsys):
    a = _write(tmp_path / "a.json", [_full_case("math/instance_generation", 20.0), _full_case("code/response_generation", 10.0)])
    merged = tmp_path / "merged.json"
    assert main(["report", a, a, "-o", str(merged)]) == 0
    out = json.loads(merged.read_text())
    assert out["summary"]["cells"] == 2 and out["summary"]["cost_usd"] == 1.0
    err = capsys.readouterr().err
    assert err == "note: 2 case(s) appeared in more than one report with the same content; each is counted once\n"


def test_a_cached_rerun_differs_only_in_bookkeeping_and_is_a_duplicate(tmp_path):
    a = _write(tmp_path / "a.json", [_full_case("math/instance_generation", 20.0)])
    b = _write(tmp_path / "b.json", [_full_case("math/instance_generation", 20.0, stage_seconds={}, cached_stages=["generate"])])
    merged = merge_reports([a, b])
    assert len(merged.cases) == 1 and merged.duplicates == 1


def test_split_reports_of_different_cases_merge_without_a_note(tmp_path, capsys):
    a = _write(tmp_path / "a.json", [_full_case("math/instance_generation", 20.0)])
    b = _write(tmp_path / "b.json", [_full_case("math/instance_generation", 30.0, generator="gpt-4o"),
                                     _full_case("math/instance_generation", 25.0, instances_requested=8)])
    assert main(["report", a, b]) == 0
    captured = capsys.readouterr()
    assert captured.err == "" and "note" not in captured.out
    assert len(merge_reports([a, b]).cases) == 3


def test_two_results_for_one_case_name_both_files_and_the_setting(tmp_path, capsys):
    a = _write(tmp_path / "a.json", [_full_case("math/instance_generation", 20.0)])
    b = _write(tmp_path / "b.json", [_full_case("math/instance_generation", 35.0)])
    with pytest.raises(ReportError) as err:
        merge_reports([a, b])
    assert str(err.value) == (
        f"{a} and {b} hold different results for the same case math/instance_generation (generator gpt-4o-mini, "
        "student tiny, reference gold, profile smoke, prompts agorabench, instances_requested 4); merge reports "
        "of different cases, or leave out the outdated one"
    )
    assert main(["report", a, b]) == 1
    stderr = capsys.readouterr().err
    assert stderr.count("\n") == 1 and "Traceback" not in stderr and "hold different results" in stderr


def test_one_file_keeps_its_own_repeated_cases(tmp_path):
    # A session may run one case twice (two seeds, unrecorded): its report is not second-guessed.
    a = _write(tmp_path / "a.json", [_full_case("math/instance_generation", 20.0), _full_case("math/instance_generation", 22.0)])
    assert len(merge_reports([a]).cases) == 2
    assert len(merge_reports([a, a]).cases) == 2
