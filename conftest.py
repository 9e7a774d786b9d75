"""Repo-level test tiers for our own tests: slow, gpu and network tests are opt-in and skip with a reason;
the vllm tier runs where AGORABENCH_VLLM_PYTHON names an interpreter with vllm (.ci/run makes one), the wheel
tier where AGORABENCH_WHEEL_TEST=1, the ray tier where AGORABENCH_RAY_TEST=1, the signal tier where
AGORABENCH_SIGNAL_TEST=1 (.ci/run sets all three). Without them the suite runs in under 15 minutes on 2
cores; CI runs every tier with the same command."""

import os

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


VLLM_REASON = (
    "needs vllm's CPU build in its own venv: set AGORABENCH_VLLM_PYTHON to its python "
    "(.ci/run creates .venv-vllm; the README shows the commands)"
)


WHEEL_REASON = (
    "builds our wheel and installs it with its dependencies into a fresh venv (minutes, needs the package "
    "registry): set AGORABENCH_WHEEL_TEST=1 (.ci/run does)"
)


RAY_REASON = (
    "starts a Ray cluster of three nodes on this machine and runs smoke cases on it (minutes): install "
    "pytest-agorabench[ray] and set AGORABENCH_RAY_TEST=1 (.ci/run does)"
)


SIGNAL_REASON = (
    "trains tiny students on scripted data until PGR shows its signal (the gate, contamination, sizes, the "
    "smoke world; minutes each): set AGORABENCH_SIGNAL_TEST=1 (.ci/run does)"
)


def pytest_collection_modifyitems(config, items):
    env_tiers = {
        "signal": (os.environ.get("AGORABENCH_SIGNAL_TEST") == "1", SIGNAL_REASON),
        "ray": (os.environ.get("AGORABENCH_RAY_TEST") == "1", RAY_REASON),
        "vllm": (bool(os.environ.get("AGORABENCH_VLLM_PYTHON")), VLLM_REASON),
        "wheel": (os.environ.get("AGORABENCH_WHEEL_TEST") == "1", WHEEL_REASON),
    }
    for marker, (enabled, reason) in env_tiers.items():
        if enabled:
            continue
        for item in items:
            if item.get_closest_marker(marker):
                item.add_marker(pytest.mark.skip(reason=reason))
    for marker, (flag, reason) in _TIERS.items():
        if config.getoption(flag):
            continue
        skip = pytest.mark.skip(reason=reason)
        for item in items:
            if marker in item.keywords:
                item.add_marker(skip)
