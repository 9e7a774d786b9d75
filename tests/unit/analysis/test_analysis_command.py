"""`agorabench analyze` end to end (in process), and the PNG figures."""

from __future__ import annotations

import json

import pytest

from pytest_agorabench.analysis import load_paper, load_reports, write_plots
from pytest_agorabench.analysis.plots import cost_points
from pytest_agorabench.cli import main


def test_analyze_paper_prints_every_section_and_writes_json(tmp_path, capsys):
    out = tmp_path / "analysis.json"
    assert main(["analyze", "--paper", "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert "coarse n=6" in text and "fine   n=54" in text
    assert "top 5 components explain 96.0 %" in text
    assert "R^2=0.338" in text and "problem_solving" in text
    saved = json.loads(out.read_text())
    assert saved["pca"]["explained_variance_kept"] == pytest.approx(0.9596, abs=5e-4)
    assert set(saved["problem_solving_regressions"]) == {"coarse", "fine"}


def test_analyze_reports_says_when_problem_solving_is_missing(write_report, case, tmp_path, capsys):
    settings = ["math/instance_generation", "math/response_generation", "code/instance_generation"]
    cases = [
        case(g, s, 10.0 * i + j, {"response_perplexity": 1.0 + i + 0.3 * j, "instruction_diversity_cdist": 0.1 * j + 0.05 * i})
        for i, g in enumerate(["gpt-4o", "gpt-4o-mini", "llama-3.1-8b"])
        for j, s in enumerate(settings)
    ]
    report = write_report(cases)
    assert main(["analyze", str(report)]) == 0
    text = capsys.readouterr().out
    assert "no problem-solving table given" in text and "coarse skipped: no problem-solving table" in text
    assert "PCA over 9 rows x 2 features" in text

    table = tmp_path / "ps.csv"
    table.write_text(
        "generator,benchmark,score\n"
        + "".join(f"{g},{b},{s}\n" for g, s in [("GPT-4o", 90), ("GPT-4o-mini", 80), ("Llama-3.1-8B-Instruct", 60)]
                  for b in ("gsm8k", "math", "mbpp", "humaneval"))
    )
    assert main(["analyze", str(report), "--problem-solving", str(table)]) == 0
    text = capsys.readouterr().out
    assert "coarse n=3" in text and "fine   n=9" in text and "x 3 features" in text


@pytest.mark.parametrize(
    "argv, message",
    [
        (["analyze"], "give JSON report path(s) or --paper"),
        (["analyze", "--paper", "x.json"], "argument reports: x.json does not exist"),
        (["analyze", "missing.json"], "missing.json does not exist"),
        (["analyze", "--paper", "--components", "0"], "--components: must be at least 1"),
        (["analyze", "--paper", "--paper-dir", "/nonexistent"], "--paper-dir: /nonexistent does not exist"),
        (["analyze", "--paper", "--paper-dir", "/"], "table2_pgr.csv does not exist"),
    ],
)
def test_bad_arguments_give_a_message_not_a_traceback(argv, message, capsys):
    assert main(argv) != 0
    assert message in capsys.readouterr().err


def test_plots_from_the_paper_tables(tmp_path, capsys):
    assert main(["analyze", "--paper", "--plots", str(tmp_path)]) == 0
    for name in ("pgr_by_setting.png", "cost_vs_pgr.png", "pca_loadings.png"):
        data = (tmp_path / name).read_bytes()
        assert data.startswith(b"\x89PNG") and len(data) > 5_000, name


def test_write_plots_next_to_a_report_and_skips_what_it_cannot_draw(write_report, case):
    report = write_report([case("agora-script/x.py:f", "math/instance_generation", 12.0)])
    result = write_plots(report)
    assert result["written"] == [str(report.parent / "pgr_by_setting.png")]
    assert set(result["skipped"]) == {"cost_vs_pgr.png", "pca_loadings.png"}


def test_write_plots_uses_costs_when_the_report_has_them(write_report, case, tmp_path):
    report = write_report([
        case("gpt-4o", "math/instance_generation", 12.0, cost=2.0),
        case("gpt-4o-mini", "math/instance_generation", 8.0, cost=0.1),
    ])
    result = write_plots([report], tmp_path / "figs")
    assert str(tmp_path / "figs" / "cost_vs_pgr.png") in result["written"]
    points, xlabel = cost_points(load_reports([report]))
    assert sorted(points) == [("gpt-4o", 2.0, 12.0), ("gpt-4o-mini", 0.1, 8.0)] and "cost" in xlabel
    points, xlabel = cost_points(load_paper())
    assert ("GPT-4o", 10.0, pytest.approx(29.5556, abs=1e-3)) in points and "price" in xlabel


def test_write_plots_needs_a_folder_for_in_memory_data():
    with pytest.raises(ValueError, match="out_dir"):
        write_plots(load_paper())
