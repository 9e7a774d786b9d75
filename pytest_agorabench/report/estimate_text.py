"""The number formats every report shares (terminal, Table 2, the size table, HTML): a bottom module of
report/, so the report modules that format a PGR need not import one another."""

from __future__ import annotations

from typing import Any

from pytest_agorabench.metrics.interval_text import ratio_text


def number(value: float | None) -> str:
    return "undef" if value is None else f"{value:.1f}"


def interval(est: dict[str, Any]) -> str:
    """A PGR with its 95 % set, marked "Fieller" where the set came from Fieller's method (which may be
    unbounded: that is what the data says about a noisy reference-base gap)."""
    return ratio_text(est["point"], est["low"], est["high"], est.get("interval_kind"), est.get("excluded"),
                      est.get("interval_method"))
