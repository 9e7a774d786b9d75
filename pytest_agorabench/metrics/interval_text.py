"""How every report writes a ratio with its 95 % set (no numpy here: the terminal imports it early)."""

from __future__ import annotations

# The kinds of a confidence set for a ratio (metrics/fieller.py).
BOUNDED, ONE_RAY, TWO_RAYS, EVERYTHING, EMPTY = "bounded", "one ray", "two rays", "everything", "empty"


def set_text(low: float | None, high: float | None, kind: str | None, excluded: list[float] | None = None,
             signed: bool = False) -> str:
    """"4.5, 20.1", "4.5, +inf", "-inf, -3.0 or 40.0, +inf", "-inf, +inf"; "ci undefined" when none was
    computed. Brackets are the caller's."""
    def f(v: float) -> str:
        return f"{v:+.1f}" if signed else f"{v:.1f}"

    if kind == TWO_RAYS and excluded:
        return f"-inf, {f(excluded[0])} or {f(excluded[1])}, +inf"
    if kind == EVERYTHING:
        return "-inf, +inf"
    if kind == EMPTY:
        return "no finite value"
    if low is None and high is None:
        return "ci undefined"
    return f"{'-inf' if low is None else f(low)}, {'+inf' if high is None else f(high)}"


def ratio_text(point: float | None, low: float | None, high: float | None, kind: str | None,
               excluded: list[float] | None = None, method: str | None = None, signed: bool = False) -> str:
    """A point with its set: "12.3 [4.5, 20.1]", "12.3 [-inf, +inf Fieller]"; "undefined" alone when
    neither the point nor a set that rules anything out exists."""
    if point is None and kind in (None, EVERYTHING):
        return "undefined"
    shown = "undefined" if point is None else (f"{point:+.1f}" if signed else f"{point:.1f}")
    found = set_text(low, high, kind, excluded, signed)
    return f"{shown} [{found}{' Fieller' if method == 'fieller' else ''}]"
