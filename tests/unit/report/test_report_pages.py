"""The Markdown Table 2 and the HTML page, from a nine-case report; --agora-html / --agora-md in a plugin
run; `agorabench report ... --html --md` offline."""

import json
import re

from pytest_agorabench.cli import main
from pytest_agorabench.report.html_page import render_html, wilson, write_html
from pytest_agorabench.report.markdown_table import table2_markdown
from tests.unit.report.nine_cases import case, nine_case_report


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


def test_one_table_per_generator_and_cells_escaped():
    report = nine_case_report()
    report["cases"].append(case("math/instance_generation", 50.0, generator="evil | <b>x</b>"))
    text = table2_markdown(report)
    assert text.count("| method |") == 2
    assert "evil \\| &lt;b>x&lt;/b>" in text  # neither a new column nor markup


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
    page = write_html(tmp_path / "out" / "r.html", report).read_text()
    assert 'href="../store/logs/generation/k1"' in page and "logs/evaluation/missing" not in page


def test_report_command_writes_html_and_markdown(tmp_path, capsys):
    src = tmp_path / "a.json"
    src.write_text(json.dumps(nine_case_report()))
    html, md = tmp_path / "r.html", tmp_path / "r.md"
    assert main(["report", str(src), "--html", str(html), "--md", str(md)]) == 0
    assert "| Quality enhancement |" in md.read_text() and "<table" in html.read_text()
    assert f"HTML report: {html}" in capsys.readouterr().out


def test_report_command_refuses_an_unwritable_page_in_one_line(tmp_path, capsys):
    src = tmp_path / "a.json"
    src.write_text(json.dumps(nine_case_report()))
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert main(["report", str(src), "--html", str(blocker / "r.html")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("agorabench report: cannot write") and "Traceback" not in err
