"""A case's contamination in the reports: JUnit properties, the terminal lines, the HTML page (escaped)."""

from pytest_agorabench.contamination import check
from pytest_agorabench.report.html_page import render_html
from pytest_agorabench.report.terminal import summary_lines
from pytest_agorabench.result import CaseResult
from tests.unit.report.nine_cases import nine_case_report

ITEMS = {"gsm8k": [{"id": "g1", "question": "What is 3 + 4?", "answer": "7"},
                   {"id": "g2", "question": "Is <b>2 + 2</b> four?", "answer": "yes"}]}
ROWS = [{"id": "r0", "instruction": "What is 3 + 4?", "response": "7"},
        {"id": "r1", "instruction": "4 + 3 is what?", "response": "7"},
        {"id": "r2", "instruction": "Is <b>2 + 2</b> four? Say.", "response": "yes"},
        {"id": "r3", "instruction": "What is 5 + 1?", "response": "6"}]


def _contamination(mode: str = "report") -> dict:
    report, _ = check(ROWS, ITEMS)
    return {**report, "mode": mode, "threshold": None}


def test_junit_has_the_counts_share_and_per_benchmark_rows():
    case = nine_case_report()["cases"][0]
    result = CaseResult.from_dict({**{k: v for k, v in case.items() if k not in ("outcome", "nodeid")},
                                   "contamination": _contamination()})
    props = dict(result.junit_properties())
    assert props["contaminated_rows"] == 2 and props["contaminated_share"] == "0.5000"
    assert props["contaminated_near_copies"] == 1 and props["gsm8k_contaminated_rows"] == 2
    assert props["decontaminate"] == "report"
    # a result saved before the check existed has no contamination and no such properties
    old = CaseResult.from_dict({k: v for k, v in case.items() if k not in ("outcome", "nodeid", "contamination")})
    assert "contaminated_rows" not in dict(old.junit_properties())


def test_terminal_and_html_show_flags_and_near_copies(tmp_path):
    report = nine_case_report()
    report["cases"][0]["contamination"] = _contamination("drop")
    lines = "\n".join(summary_lines(report["cases"], report["summary"]))
    setting = report["cases"][0]["setting"]
    assert f"  {setting}: 2/4 flagged (gsm8k 2; dropped), 1 near copies" in lines
    assert "    exact: row r0 (instruction) ~ gsm8k item g1 'What is 3 + 4?'" in lines
    assert "    near: row r1 (instruction) ~ gsm8k item g1" in lines
    page = render_html(report, tmp_path)
    assert "Contamination: 2 of 4 generated rows copy benchmark items (share 0.5000; dropped before training)" in page
    assert "<td>4 + 3 is what?</td>" in page and "Is &lt;b&gt;2 + 2&lt;/b&gt; four?" in page
    assert "<b>2 + 2</b>" not in page
