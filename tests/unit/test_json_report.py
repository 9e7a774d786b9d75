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
)


def _case(setting, point, cost):
    return {"setting": setting, "pgr": {"point": point}, "cost_usd": cost}


def test_run_cost_and_pgr_per_dollar():
    summary = aggregates([_case("math/instance_generation", 20.0, 1.5), _case("code/response_generation", 10.0, 0.5)])
    assert summary["generator_score"] == 15.0
    assert summary["cost_usd"] == 2.0
    assert summary["pgr_per_usd"] == 7.5


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
