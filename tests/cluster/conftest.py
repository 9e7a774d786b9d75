"""Fixtures of the cluster tier (marker ``ray``): clusters from cluster_runs.py, and the local run the
cluster's figures are compared with."""

from __future__ import annotations

from typing import Any

import pytest

from tests.cluster.cluster_runs import SCRIPTED, fake_cluster, run_pytest


@pytest.fixture(scope="module")
def ray_cluster():
    with fake_cluster() as fake:
        yield fake


@pytest.fixture
def fresh_cluster():
    """A cluster of its own, for a test that removes a node."""
    with fake_cluster() as fake:
        yield fake


@pytest.fixture(scope="module")
def local_math(tmp_path_factory) -> dict[str, Any]:
    """The three math smoke cases (scripted data) run in this process's way (no Ray), on a store of their own."""
    folder = tmp_path_factory.mktemp("local")
    return run_pytest(folder / "store", folder / "report.json", "-k", "math", "-n", "2", *SCRIPTED)
