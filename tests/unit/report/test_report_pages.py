"""The Markdown Table 2 and the HTML page, from a nine-case report; --agora-html / --agora-md in a plugin
run; `agorabench report ... --html --md` offline."""

import json
import re

from pytest_agorabench.cli import main
from pytest_agorabench.report.html_page import render_html, wilson, write_html
from pytest_agorabench.report.markdown_table import table2_markdown
from pytest_agorabench.report.pages import write_pages
from tests.unit.report.nine_cases import INTRINSIC, case, nine_case_report


def test_markdown_table2_has_the_paper_layout_and_says_why_a_cell_is_undefined():
    text = table2_markdown(nine_case_report())
    rows = [line for line in text.splitlines() if line.startswith("| ")]
    assert rows[0] == "| method | Math | Code | Instruction following | mean |"
    assert [r.split(" | ")[0] for r in rows[1:]] == [
        "| Instance generation", "| Response generation", "| Quality enhancement", "| **mean**"]
    assert "| Response generation | 10.0 [-2.0, 19.0] |" in text  # settings order: math IG is cell 0 (PGR 0)
    quality = rows[3]
    assert "undefined [1]" in quality
    assert "[1] code/quality_enhancement: reference-base gap below the minimum" in text
    assert "Gate vs `v7` (max drop 5 PGR points): 1 of 9 case(s) failed." in text
    assert "Smoke profile" in text
    # The eight defined cells: 0 .. 80 but 50 (code/quality_enhancement), mean 310 / 8.
    assert ("Generator score 38.8 (mean PGR over 8 of 9 cells); method means: instance generation 30.0, "
            "response generation 40.0, quality enhancement 50.0.") in text


def test_markdown_says_why_a_mostly_undefined_table_has_no_score():
    report = nine_case_report()
    for c in report["cases"][:5]:  # the three code cells and two instruction-following cells
        c["pgr"] = {**c["pgr"], "point": None, "low": None, "high": None, "undefined_reason": "no gap"}
    assert "Generator score not reported: only 4 of 9 cells have a defined PGR" in table2_markdown(report)


def test_one_table_per_generator_and_cells_escaped():
    report = nine_case_report()
    report["cases"].append(case("math/instance_generation", 50.0, generator="evil | <b>x</b>"))
    report["cases"][-1]["pgr"]["undefined_reason"] = "gap | <b>"
    report["cases"][-1]["pgr"]["point"] = None
    text = table2_markdown(report)
    assert text.count("| method |") == 2
    assert "### Generator `evil | <b>x</b>`" in text  # a code span: shown as written, never markup
    assert "undefined [1] |" in text.split("evil")[1] and "[1] math/instance_generation: gap \\| &lt;b>" in text


def test_html_page_holds_every_case_escapes_names_and_draws_the_plots(tmp_path):
    report = nine_case_report()
    report["cases"][0]["generator"] = "<script>alert(1)</script>"
    page = render_html(report, tmp_path)
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page
    assert page.count('<tr><td><a href="#') == 9  # the cases table: nine rows
    assert "reference-base gap below the minimum" in page
    assert page.count("<svg") == 2  # PGR by setting, and delta against the baseline
    assert not re.search(r'(src|href)="(https?:)?//', page)  # nothing fetched: self-contained
    assert "45.0 [" in page  # S_G with its interval


def test_html_intrinsic_metrics_with_rows_scored_failures_and_scorers_not_run(tmp_path):
    report = nine_case_report()
    report["cases"][1]["intrinsic"] = {"skipped": "no generated rows to measure"}
    page = render_html(report, tmp_path)
    assert "<td>instruction_diversity</td><td class=\"num\">0.41</td><td class=\"num\">3</td>" in page
    assert "<td>response_quality_smol_judge</td><td class=\"num\">undefined</td>" in page
    assert "<td>unparseable 3</td>" in page
    assert "<td>reward_model</td><td class=\"num\">not measured</td>" in page
    assert "Intrinsic metrics not measured: no generated rows to measure." in page


def test_html_keeps_merged_generators_apart(tmp_path):
    report = nine_case_report()
    other = [case(c["setting"], 5.0, generator="gen-$^$") for c in report["cases"]]
    report["cases"] += other
    page = render_html(report, tmp_path)
    ids = re.findall(r'<h3 id="([^"]+)"', page)
    assert len(ids) == 18 and len(set(ids)) == 18
    # Each Table 2 links its cells to its own generator's cases.
    second = page.split("Generator <code>gen-$^$</code>")[1].split("</table>")[0]
    assert 'href="#math-instance_generation-2">5.0 [-7.0, 14.0]</a>' in second
    assert "math/instance_generation (gen-$^$)" in page  # plot rows name the run; "$" stays text, not mathtext


def test_html_page_is_the_same_for_the_same_report(tmp_path):
    report = nine_case_report()
    assert render_html(report, tmp_path) == render_html(report, tmp_path)


def test_html_shows_stages_the_store_served_and_another_worker_computed(tmp_path):
    report = nine_case_report()
    report["cases"][0]["shared_stages"] = ["training"]
    page = render_html(report, tmp_path)
    assert "<td>evaluation; from another worker: training</td>" in page
    assert "<tr><td>training</td><td class=\"num\">12.0</td><td>waited</td></tr>" in page
    assert "<tr><td>evaluation</td><td class=\"num\">8.2</td><td>store</td></tr>" in page


def test_wilson_interval():
    assert wilson(50.0, 20) == "50.0 [29.9, 70.1]"
    assert wilson(0.0, 20).startswith("0.0 [0.0, ")
    assert wilson(None, 20) == "undef"


def test_log_links_point_at_existing_log_folders(tmp_path):
    store = tmp_path / "store"
    (store / "logs" / "generation" / "k1").mkdir(parents=True)
    report = nine_case_report()
    report["config"]["store_dir"] = str(store)
    report["cases"][0]["artifacts"] = {"generation": "k1", "evaluation": "missing"}
    judge_log = store / "logs" / "intrinsic" / "judge.eval"
    (store / "logs" / "intrinsic").mkdir()
    judge_log.write_text("")
    report["cases"][0]["intrinsic"] = {**INTRINSIC, "logs": {"response_quality_smol_judge": str(judge_log),
                                                             "gone": str(store / "nowhere.eval")}}
    page = write_html(tmp_path / "out" / "r.html", report).read_text()
    assert 'href="../store/logs/generation/k1">generation</a>' in page and "logs/evaluation/missing" not in page
    assert 'href="../store/logs/intrinsic/judge.eval">response_quality_smol_judge</a>' in page
    assert "nowhere.eval" not in page
    assert page.count('href="../store/logs">all logs of the store</a>') == 9


def test_report_command_writes_html_and_markdown(tmp_path, capsys):
    src = tmp_path / "a.json"
    src.write_text(json.dumps(nine_case_report()))
    html, md = tmp_path / "r.html", tmp_path / "r.md"
    assert main(["report", str(src), "--html", str(html), "--md", str(md)]) == 0
    assert "| Quality enhancement |" in md.read_text() and "<table" in html.read_text()
    # One report: its gate summary travels with it (the merge keeps what every report shares).
    assert "1 of 9 gated case(s) failed" in html.read_text()
    assert f"HTML report: {html}" in capsys.readouterr().out


def test_report_command_refuses_an_unwritable_output_before_any_work(tmp_path, capsys):
    src = tmp_path / "a.json"
    src.write_text(json.dumps(nine_case_report()))
    blocker = tmp_path / "file"
    blocker.write_text("")
    merged = tmp_path / "merged.json"
    assert main(["report", str(src), "-o", str(merged), "--md", str(blocker / "t.md")]) == 1
    err = capsys.readouterr().err
    assert err == f"agorabench report: --md: cannot write {blocker / 't.md'}: {blocker} is a file, not a folder; choose a writable path\n"
    assert not merged.exists()


def test_report_command_names_a_damaged_report_in_one_line(tmp_path, capsys):
    report = nine_case_report()
    del report["cases"][3]["pgr"]
    src = tmp_path / "a.json"
    src.write_text(json.dumps(report))
    assert main(["report", str(src), "--html", str(tmp_path / "r.html")]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"agorabench report: a case in {src} lacks a field") and err.count("\n") == 1


def test_a_page_that_cannot_be_drawn_is_one_line_not_a_traceback(tmp_path):
    report = nine_case_report()
    report["cases"][0]["stage_seconds"] = {"generation": "slow"}  # e.g. an amending hook's odd value
    pages = write_pages(report, tmp_path / "r.html", tmp_path / "r.md")
    why = "not written: the report holds a value it cannot show (ValueError: Unknown format code 'f' for object of type 'str')"
    assert pages[0] == ("HTML report", why)
    assert pages[1] == ("Markdown Table 2", tmp_path / "r.md")
