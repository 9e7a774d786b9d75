"""Budget mode: instances sized from a measured pilot, in rounds that close in on the budget."""

import pytest

from pytest_agorabench.generation.budget import BudgetError, run_with_budget
from pytest_agorabench.generation.runner import collect
from pytest_agorabench.files import Journal


class FakeRun:
    """generate(n) 'makes' instances 0..n-1; cost(i) is what instance i cost."""

    def __init__(self, cost):
        self.cost = cost
        self.calls = []

    def generate(self, n):
        self.calls.append(n)
        return n

    def spend(self, n):
        return n, sum(self.cost(i) for i in range(n))  # the result holds instances 0..n-1


def test_constant_cost_sizes_to_floor_of_budget_over_cost():
    run = FakeRun(lambda i: 0.01)
    n, report = run_with_budget(run.generate, run.spend, budget_usd=5.0, cap=None, pilot=16, min_round=16)
    assert n == report.sized_instances == 500
    assert report.spent_usd == pytest.approx(5.0) and report.cost_per_instance_usd == pytest.approx(0.01)
    assert run.calls[0] == 16 and run.calls == sorted(run.calls)  # pilot first, then growing rounds
    assert len(run.calls) < 12  # halving rounds, not one call per instance


def test_rising_cost_is_re_estimated_and_stays_within_budget():
    # Later instances cost more (longer demos from generated rows; here the cost doubles over the run):
    # sizing from the pilot's mean alone would overshoot.
    def cost(i):
        return 0.01 + i * 0.00001

    run = FakeRun(cost)
    n, report = run_with_budget(run.generate, run.spend, budget_usd=10.0, cap=None, pilot=16, min_round=16)
    spent = sum(cost(i) for i in range(n))
    assert 10.0 * 0.97 <= spent <= 10.0
    assert report.spent_usd <= 10.0 and report.rounds[-1]["instances"] == n
    pilot_only = int(10.0 / (sum(cost(i) for i in range(16)) / 16))
    assert n < pilot_only


def test_a_steep_rise_is_cut_back_to_the_prefix_the_budget_pays_for():
    run = FakeRun(lambda i: 0.01 + i * 0.0001)
    n, report = run_with_budget(run.generate, run.spend, budget_usd=10.0, cap=None, pilot=16, min_round=16)
    assert sum(0.01 + i * 0.0001 for i in range(n)) <= 10.0 < sum(0.01 + i * 0.0001 for i in range(n + 1))
    assert report.spent_usd > 10.0 and report.sized_instances == n  # the overshoot is reported, not hidden


def test_cap_limits_the_size():
    run = FakeRun(lambda i: 0.001)
    n, report = run_with_budget(run.generate, run.spend, budget_usd=100.0, cap=40, pilot=16, min_round=16)
    assert n == 40 and max(run.calls) == 40 and report.cap == 40
    run = FakeRun(lambda i: 0.001)
    n, _ = run_with_budget(run.generate, run.spend, budget_usd=100.0, cap=5, pilot=16, min_round=16)
    assert n == 5 and run.calls == [5]


def test_pilot_over_budget_keeps_what_the_budget_pays_for():
    run = FakeRun(lambda i: 1.0)
    n, report = run_with_budget(run.generate, run.spend, budget_usd=3.5, cap=None, pilot=8, min_round=8)
    assert n == 3 and report.sized_instances == 3
    assert report.spent_usd == 8.0  # what was really spent, pilot overshoot included
    assert max(run.calls) == 8  # cutting back generates nothing new


def test_budget_errors():
    run = FakeRun(lambda i: 0.0)
    with pytest.raises(BudgetError, match="cost \\$0"):
        run_with_budget(run.generate, run.spend, budget_usd=1.0, cap=None)
    run = FakeRun(lambda i: 2.0)
    with pytest.raises(BudgetError, match="buys no instance"):
        run_with_budget(run.generate, run.spend, budget_usd=1.0, cap=None, pilot=4)
    with pytest.raises(BudgetError, match="positive"):
        run_with_budget(run.generate, run.spend, budget_usd=0, cap=None)


def test_budget_rounds_through_run_generation_share_one_journal(tmp_path):
    """Real generation (inspect + mock model): every round resumes the journal, nothing is generated twice."""
    from tests.unit.generation.test_generation_runner import GOOD, RG, Script, output, run, seeds

    script = Script(lambda n, attempt: output(GOOD.format(n=n), inp=100, out=20))
    journal = Journal(tmp_path / "journal.jsonl")
    price = (1.0, 2.0)  # USD per million: each instance costs 100e-6 + 40e-6

    def generate(n):
        return run(RG, seeds(60), script, tmp_path, journal=journal, instances=n)

    def spend(result):
        return result.requested, (result.input_tokens * price[0] + result.output_tokens * price[1]) / 1e6

    result, report = run_with_budget(generate, spend, budget_usd=0.0042, cap=60, pilot=4, min_round=4)
    assert result.requested == report.sized_instances == 30
    assert sorted(k for k, *_ in script.calls) == list(range(30))  # one call per instance, in all rounds
    assert collect(journal, 30).input_tokens == 3000
    assert len(report.rounds) > 2
