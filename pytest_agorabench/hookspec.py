"""Hooks other plugins (or a conftest.py) can implement to extend pytest-agorabench."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.hookspec
def pytest_agorabench_case_result(result: Any, setting: Any, config: Any) -> None:
    """Called with each finished CaseResult before it is gated and reported; amend it in place."""


@pytest.hookspec
def pytest_agorabench_json_report(report: dict[str, Any]) -> None:
    """Called with the session's JSON report (a dict) before it is written; amend it in place."""
