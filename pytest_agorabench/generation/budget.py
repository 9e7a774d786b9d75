"""Budget mode: size the number of instances to a dollar budget (AGORABENCH.md 7, paper Figure 7).

The price of an instance is measured, not guessed: a pilot batch is generated first, and the cost per
requested instance (every attempt's tokens, drops included, times the generator's price) sizes the
rest. Generation then proceeds in rounds that each take half the room the current estimate leaves,
re-estimating after every round, so the run closes in on the budget from below; the last round
(when the room is no bigger than ``min_round``) takes all of it. All rounds share one journal, so
the pilot's rows are part of the data and a killed run resumes where it stopped.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, TypeVar

from pytest_agorabench.errors import AgoraBenchError

DEFAULT_PILOT = 16
MAX_ROUNDS = 64

R = TypeVar("R")


class BudgetError(AgoraBenchError, ValueError):
    """The budget cannot be applied (unpriced or free generator, nothing measurable in the pilot)."""


@dataclass
class BudgetReport:
    budget_usd: float
    pilot: int
    cap: int | None  # most instances allowed (seed count, or --instances given with the budget)
    rounds: list[dict[str, Any]] = field(default_factory=list)  # per round: instances, spent_usd
    cost_per_instance_usd: float | None = None
    sized_instances: int = 0
    spent_usd: float = 0.0  # over every generated instance, also any the pilot made beyond the size

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def run_with_budget(
    generate: Callable[[int], R],
    spend: Callable[[R], tuple[int, float]],
    *,
    budget_usd: float,
    cap: int | None,
    pilot: int = DEFAULT_PILOT,
    min_round: int = DEFAULT_PILOT,
) -> tuple[R, BudgetReport]:
    """``generate(n)`` makes instances 0..n-1 (resuming earlier ones) and returns their result;
    ``spend(result)`` gives (instances in it, USD spent on them). Returns the result for the sized
    count and a report of how it was sized."""
    if not budget_usd > 0:
        raise BudgetError(f"the budget must be a positive number of USD, got {budget_usd!r}")
    first = pilot if cap is None else min(pilot, cap)
    report = BudgetReport(budget_usd=budget_usd, pilot=first, cap=cap)
    result = generate(first)
    done, spent = spend(result)
    report.rounds.append({"instances": done, "spent_usd": round(spent, 6)})
    if done and spent <= 0:
        raise BudgetError(
            f"the pilot of {done} instances cost $0 (free model, or no token usage reported): nothing to "
            "size the run with; give the model a price (--agora-prices) or use --instances"
        )
    # Price the next round at the dearer of the mean and the last round's marginal cost: instance
    # generation gets dearer as generated demonstrations grow, and the mean lags behind that.
    marginal = spent / done if done else 0.0
    for _ in range(MAX_ROUNDS):
        if done == 0:
            break
        rate = max(spent / done, marginal)
        report.cost_per_instance_usd = rate
        room = math.floor((budget_usd - spent) / rate + 1e-9)  # 0.99999 instances of room is one
        if cap is not None:
            room = min(room, cap - done)
        if room <= 0:
            break
        step = room if room <= min_round else room // 2
        result = generate(done + step)
        new_done, new_spent = spend(result)
        if new_done <= done:  # nothing more could be planned (seed rows ran out)
            break
        marginal = (new_spent - spent) / (new_done - done)
        done, spent = new_done, new_spent
        report.rounds.append({"instances": done, "spent_usd": round(spent, 6)})
    report.spent_usd = round(spent, 6)  # what was really spent, also on instances cut below
    if spent > budget_usd:
        # The pilot (or a last round's variance) went over: keep the longest prefix the budget pays for.
        low, high = 0, done
        while low < high:
            mid = (low + high + 1) // 2
            if spend(generate(mid))[1] <= budget_usd:
                low = mid
            else:
                high = mid - 1
        if low == 0:
            raise BudgetError(
                f"a budget of ${budget_usd:g} buys no instance: the pilot's instances cost "
                f"${spent / done:.6f} each on average (${spent:.6f} spent)"
            )
        result = generate(low)
        done = low
    report.sized_instances = done
    return result, report
