"""Loading the analysis inputs: reports, problem-solving tables, and clear errors for bad input."""

from __future__ import annotations

import json

import pytest

from pytest_agorabench.analysis import AnalysisInputError, load_problem_solving, load_reports
from pytest_agorabench.analysis.tables import domain_problem_solving, problem_solving_of


def test_report_cells_carry_pgr_metrics_and_cost(write_report, case):
    path = write_report([
        case("gpt-4o", "math/instance_generation", 20.0, {"response_perplexity": 2.0}, cost=1.5),
        case("gpt-4o", "code/response_generation", None),
    ])
    data = load_reports([path])
    by_setting = {c.setting: c for c in data.cells}
    assert by_setting["math/instance_generation"].pgr == 20.0
    assert by_setting["math/instance_generation"].metrics == {"response_perplexity": 2.0}
    assert by_setting["math/instance_generation"].cost_usd == 1.5
    assert by_setting["code/response_generation"].pgr is None
    assert data.prices["gpt-4o"] == (2.5, 10.0)  # from the alias table
    assert any("no problem-solving table" in note for note in data.notes)


def test_later_report_wins_for_the_same_cell(write_report, case):
    first = write_report([case("g/x", "math/instance_generation", 1.0)], "a.json")
    second = write_report([case("g/x", "math/instance_generation", 2.0)], "b.json")
    assert [c.pgr for c in load_reports([first, second]).cells] == [2.0]


def test_problem_solving_long_and_wide_forms(tmp_path):
    long = tmp_path / "long.csv"
    long.write_text("generator,benchmark,score\nG,gsm8k,90\nG,math,70\n")
    wide = tmp_path / "wide.csv"
    wide.write_text("generator,gsm8k,math\nG,90,70\n")
    assert load_problem_solving(long) == load_problem_solving(wide) == {"G": {"gsm8k": 90.0, "math": 70.0}}
    assert domain_problem_solving({"gsm8k": 90.0, "math": 70.0}, "math") == 80.0
    assert domain_problem_solving({"gsm8k": 90.0}, "math") is None


def test_alias_generators_match_paper_names_in_the_problem_solving_table(write_report, case, tmp_path):
    table = tmp_path / "ps.csv"
    table.write_text("generator,benchmark,score\nGPT-4o,gsm8k,96\n")
    data = load_reports([write_report([case("gpt-4o", "math/instance_generation", 1.0)])], table)
    assert problem_solving_of(data, "gpt-4o") == {"gsm8k": 96.0}
    assert problem_solving_of(data, "unknown-model") is None


@pytest.mark.parametrize(
    "content, message",
    [
        ("not json", "is not JSON"),
        (json.dumps({"schema": "other"}), "is not a pytest-agorabench report"),
        (json.dumps({"schema": "pytest-agorabench/report", "cases": []}), "no cases"),
        (json.dumps({"schema": "pytest-agorabench/report", "cases": [{"setting": "math"}]}), "malformed"),
        (json.dumps({"schema": "pytest-agorabench/report", "cases": [
            {"setting": "math/instance_generation", "generator": "g", "pgr": {"point": "high"}}]}), "not a number"),
    ],
)
def test_bad_reports_give_clear_errors(tmp_path, content, message):
    path = tmp_path / "r.json"
    path.write_text(content)
    with pytest.raises(AnalysisInputError, match=message):
        load_reports([path])


def test_missing_files_and_bad_tables(tmp_path):
    with pytest.raises(AnalysisInputError, match="does not exist"):
        load_reports([tmp_path / "nope.json"])
    bad = tmp_path / "ps.csv"
    bad.write_text("generator,benchmark,score\nG,gsm8k,lots\n")
    with pytest.raises(AnalysisInputError, match="line 2.*not a number"):
        load_problem_solving(bad)
    bad.write_text("model,score\nG,1\n")
    with pytest.raises(AnalysisInputError, match="lacks column"):
        load_problem_solving(bad)


def test_prompt_variants_of_one_generator_stay_apart_and_share_its_scores(write_report, case, tmp_path):
    table = tmp_path / "ps.csv"
    table.write_text("generator,benchmark,score\nGPT-4o,gsm8k,90\n")
    json_case = {**case("gpt-4o", "math/instance_generation", 5.0), "prompts": "json"}
    default = case("gpt-4o", "math/instance_generation", 9.0)
    data = load_reports([write_report([default]), write_report([json_case], "json.json")], table)
    assert sorted((c.generator, c.pgr) for c in data.cells) == [("gpt-4o", 9.0), ("gpt-4o [json]", 5.0)]
    from pytest_agorabench.analysis.tables import problem_solving_of

    assert problem_solving_of(data, "gpt-4o [json]") == problem_solving_of(data, "gpt-4o") == {"gsm8k": 90.0}
