"""The JSON report's run summary: Table-2 means, and the run's cost and PGR per dollar (paper section 7)."""

from pytest_agorabench.report.json_report import aggregates


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
