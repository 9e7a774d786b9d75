"""Repo-level test tiers for our own tests: slow, gpu and network tests are opt-in and skip with a reason."""

import pytest

# pytester drives inner pytest runs in tests/plugin; pytest only accepts pytest_plugins at the rootdir.
pytest_plugins = ["pytester"]

_TIERS = {
    "slow": ("--run-slow", "slow (minutes on 2 cores); run with --run-slow"),
    "gpu": ("--run-gpu", "needs a CUDA GPU; run with --run-gpu on a GPU machine"),
    "network": ("--run-network", "needs the Hugging Face hub or another network service; run with --run-network"),
}


def pytest_addoption(parser):
    for marker, (flag, _) in _TIERS.items():
        parser.addoption(flag, action="store_true", default=False, help=f"run tests marked {marker}")


def pytest_collection_modifyitems(config, items):
    for marker, (flag, reason) in _TIERS.items():
        if config.getoption(flag):
            continue
        skip = pytest.mark.skip(reason=reason)
        for item in items:
            if marker in item.keywords:
                item.add_marker(skip)
