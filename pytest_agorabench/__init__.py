"""pytest-agorabench: AgoraBench (Kim et al. 2024) as a pytest plugin.

The small public API for a user's own tests and scripts, re-exported from private modules on first use,
so ``import pytest_agorabench`` (done by pytest's plugin start-up and by every training subprocess) stays
cheap:

- ``AgoraBench``: the ``agorabench`` fixture's object (``agorabench.case(...)``, ``agorabench.check(...)``)
- ``CaseResult``: what a case returns (PGR with its interval, per-benchmark scores, drops, cost, ...)
- ``Setting``, ``SETTINGS``, ``get_setting``: the nine settings
- ``AgoraBenchError``: the base of every error caused by the user's inputs or environment
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

__all__ = ["SETTINGS", "AgoraBench", "AgoraBenchError", "CaseResult", "Setting", "__version__", "get_setting"]


def __getattr__(name: str) -> Any:
    if name == "AgoraBench":
        from pytest_agorabench.api import AgoraBench

        return AgoraBench
    if name == "AgoraBenchError":
        from pytest_agorabench.errors import AgoraBenchError

        return AgoraBenchError
    if name == "CaseResult":
        from pytest_agorabench.result import CaseResult

        return CaseResult
    if name in ("SETTINGS", "Setting", "get_setting"):
        from pytest_agorabench import settings

        return getattr(settings, name)
    raise AttributeError(f"module 'pytest_agorabench' has no attribute {name!r}")
