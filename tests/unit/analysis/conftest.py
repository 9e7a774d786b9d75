"""Helpers for the analysis tests: real pytest-agorabench reports built from case dicts."""

from __future__ import annotations

import json

import pytest

from pytest_agorabench.report.json_report import build_report


def make_case(generator: str, setting: str, pgr: float | None, metrics: dict | None = None, cost: float | None = None) -> dict:
    out = {"setting": setting, "generator": generator, "pgr": {"point": pgr, "low": None, "high": None}, "cost_usd": cost}
    if metrics is not None:
        out["intrinsic"] = {"metrics": metrics}
    return out


@pytest.fixture
def case():
    return make_case


@pytest.fixture
def write_report(tmp_path):
    def write(cases: list[dict], name: str = "report.json"):
        path = tmp_path / name
        path.write_text(json.dumps(build_report(cases, {})))
        return path

    return write
