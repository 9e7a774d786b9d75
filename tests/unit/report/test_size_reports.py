"""--agora-sizes in the reports: the table in Markdown, HTML and the terminal, and the HTML curves with one line
per generator once two generators' reports are merged (``agorabench report A.json B.json``)."""

import json
import re

from pytest_agorabench.cli import main
from pytest_agorabench.report.html_page import render_html
from pytest_agorabench.report.json_report import build_report
from pytest_agorabench.report.markdown_table import table2_markdown
from pytest_agorabench.report.terminal import summary_lines
from tests.unit.report.nine_cases import case


def _size(instances: int, point: float | None, cost: float | None) -> dict:
    pgr = {"point": point, "low": None if point is None else point - 10, "high": None if point is None else point + 10,
           "undefined_reason": None if point is not None else "reference-base gap below the minimum",
           "resamples": 2000, "degenerate": 0, "interval_kind": None, "interval_method": None, "excluded": None}
    return {"instances": instances, "requested": instances, "valid": instances - 1, "dropped": 1,
            "input_tokens": 100 * instances, "output_tokens": 50 * instances, "cost_usd": cost,
            "train_rows": instances - 1, "pgr": pgr,
            "pgr_per_usd": None if cost is None or point is None else round(point / cost, 3),
            "student": f"key{instances}", "pgr_by_seed": None}


def _sized(generator: str, points: list, price: float | None) -> dict:
    out = case("math/response_generation", points[-1], generator=generator)
    out["sizes"] = [_size(n, p, None if price is None else price * n) for n, p in zip((20, 40, 80), points)]
    return out


def test_markdown_and_terminal_carry_pgr_cost_and_pgr_per_dollar_at_each_size():
    cases = [_sized("gen-mini", [30.0, 50.0, 70.0], 0.01)]
    md = table2_markdown(build_report(cases, {}))
    assert "### PGR by amount of data and its cost" in md
    assert "| math/response_generation | gen-mini | 20 | 19/20 | 19 | 0.2 | 30.0 [20.0, 40.0] | 150 |" in md
    assert "| math/response_generation | gen-mini | 80 | 79/80 | 79 | 0.8 | 70.0 [60.0, 80.0] | 87.5 |" in md
    lines = summary_lines(cases, build_report(cases, {})["summary"])
    assert "  math/response_generation: 20: 30.0 [20.0, 40.0] ($0.2); 40: 50.0 [40.0, 60.0] ($0.4); " \
           "80: 70.0 [60.0, 80.0] ($0.8)" in lines


def test_a_report_without_sizes_has_no_size_section():
    report = build_report([case("math/response_generation", 40.0)], {})
    assert "sizes" not in report["cases"][0]
    assert "amount of data" not in table2_markdown(report)
    assert "amount of data" not in render_html(report, __import__("pathlib").Path("."))
    assert not any("data size" in line for line in summary_lines(report["cases"], report["summary"]))


def test_merged_reports_plot_one_line_per_generator_against_instances_and_dollars(tmp_path, capsys):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text(json.dumps(build_report([_sized("gen-mini", [30.0, 50.0, 70.0], 0.001)], {"profile": "smoke"})))
    # The other generator: dearer, and its smallest prefix without a PGR (left out of its line, not drawn at 0).
    b.write_text(json.dumps(build_report([_sized("gen-big", [None, 60.0, 65.0], 0.01)], {"profile": "smoke"})))
    html, md = tmp_path / "r.html", tmp_path / "r.md"
    assert main(["report", str(a), str(b), "--html", str(html), "--md", str(md)]) == 0
    page = html.read_text()
    section = page.split("<h2>PGR by amount of data and its cost</h2>")[1].split("<h2>")[0]
    assert section.count("<svg") == 1  # one plot for the one setting, two panels in it
    svg = section.split("<svg")[1]
    assert "gen-mini" in svg and "gen-big" in svg  # the legend names both lines
    # Two panels, two lines each (matplotlib's line2d groups hold the lines and their error bars).
    assert "instances generated" in svg and "generation cost (USD)" in svg
    assert section.count("<tr><td>math/response_generation</td>") == 6
    assert re.search(r"<td>gen-big</td><td class=\"num\">20</td>.*?undefined", section)
    assert md.read_text().count("| math/response_generation | gen-") == 6
    # the terminal names each line's generator once two are merged; cheap data's PGR per dollar reads whole
    out = capsys.readouterr().out
    assert "  math/response_generation (gen-mini): 20: 30.0 [20.0, 40.0] ($0.02);" in out
    assert "  math/response_generation (gen-big): 20: undefined" in out
    assert "| math/response_generation | gen-mini | 20 | 19/20 | 19 | 0.02 | 30.0 [20.0, 40.0] | 1,500 |" in md.read_text()
    assert render_html(json.loads(a.read_text()), tmp_path) == render_html(json.loads(a.read_text()), tmp_path)


def test_a_plot_without_prices_says_so():
    page = render_html(build_report([_sized("gen-free", [10.0, 20.0, 30.0], None)], {}), __import__("pathlib").Path("."))
    svg = page.split("<h2>PGR by amount of data and its cost</h2>")[1].split("</svg>")[0]
    assert "no generator priced" in svg
    assert "<td class=\"num\">unpriced</td>" in page
