"""The order in which a run's cases are handed out: domains alternate, response generation first.

Each domain's gold reference, baselines and the session's reward model are built once, by the first case
that needs them; a case of the same domain that starts beside it on another worker waits on that case's
lock with its core idle. Alternating domains keeps the cases that start together apart, and response
generation, a domain's cheapest case, builds the shared stages early. pytest-xdist hands items out in
collection order, two at a time per worker (``--dist load``), so the collection order is the schedule.
The smoke run with empty caches (``pytest suites/ -n 2``) took 7 min 40 s in this order and 9 min 04 s in
the files' order, on the same box with nothing else changed (cores busy 182 % of 200 %, where 168 %).
"""

from __future__ import annotations

from typing import Any

METHOD_RANK = {"response_generation": 0, "instance_generation": 1, "quality_enhancement": 2}


def _setting(item: Any) -> Any:
    from pytest_agorabench.settings import Setting

    if item.get_closest_marker("agorabench") is None:
        return None
    params = getattr(getattr(item, "callspec", None), "params", {})
    found = [value for value in params.values() if isinstance(value, Setting)]
    return found[0] if len(found) == 1 else None


def spread(items: list[Any]) -> list[Any]:
    """``items`` with the AgoraBench cases among them reordered in the slots they held (other tests keep
    their places): by method rank, then domain in order of first appearance, then collection order."""
    slots = [i for i, item in enumerate(items) if _setting(item) is not None]
    cases = [items[i] for i in slots]
    domains: dict[str, int] = {}
    for case in cases:
        domains.setdefault(_setting(case).domain.value, len(domains))

    def key(pair: tuple[int, Any]) -> tuple[int, int, int]:
        index, case = pair
        setting = _setting(case)
        return METHOD_RANK.get(setting.method.value, len(METHOD_RANK)), domains[setting.domain.value], index

    ordered = [case for _, case in sorted(enumerate(cases), key=key)]
    out = list(items)
    for slot, case in zip(slots, ordered):
        out[slot] = case
    return out
