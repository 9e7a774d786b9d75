"""pytest hooks and fixtures of pytest-agorabench; run-wide state lives in session.AgoraSession."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pytest_agorabench.config import DEMO_MIXES, GATES, PROFILES, ConfigError, build_config, read_pyproject_table

_SESSION = pytest.StashKey["Any"]()

# option flag -> RunConfig key
_OPTIONS: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("--generator", "generator", {"help": "data-generating LM: an alias (gpt-4o, llama-3.1-70b, smollm2-135m, ...) or an inspect model string"}),
    ("--student", "student", {"help": "student weights to fine-tune: tiny, smollm2-135m, a hub id or a local dir"}),
    ("--reference", "reference", {"help": "reference S_ref: weights (hub id / dir) or 'gold' = the student trained on the seed data"}),
    ("--judge", "judge", {"help": "judge LM (alias or inspect model string)"}),
    ("--instances", "instances", {"type": int, "help": "instances to generate per setting"}),
    ("--min-pgr", "min_pgr", {"type": float, "help": "fail a case whose PGR is below this (per setting: [tool.agorabench.min_pgr_by_setting])"}),
    ("--agora-profile", "profile", {"choices": list(PROFILES), "help": "paper / quick / smoke (default: smoke)"}),
    ("--agora-json", "json", {"help": "write the JSON report here (default: <store>/report.json)"}),
    ("--agora-store", "store", {"help": "artifact store directory (default: .agorabench in the rootdir)"}),
    ("--agora-gate", "gate_on", {"choices": list(GATES), "help": "gate --min-pgr on the PGR point value or the 95%% CI lower bound"}),
    ("--agora-seed", "seed", {"type": int, "help": "random seed (default 42)"}),
    ("--agora-demo-mix", "demo_mix", {"choices": list(DEMO_MIXES), "help": "instance-generation demonstrations: intended (2 seed + 1 generated) or official"}),
    ("--agora-seed-file", "seed_file", {"help": "a local seed file or folder (JSON/JSONL/Parquet with instruction, response)"}),
    ("--agora-benchmark-dir", "benchmark_dir", {"help": "a folder of <benchmark>.jsonl/.parquet files in the hub format"}),
    ("--agora-intrinsic", "intrinsic", {"choices": ["on", "off"], "help": "intrinsic metrics of the generated data (default: on)"}),
    ("--agora-prices", "prices_file", {"help": "a JSON/TOML price table: model = {input, output} USD per million tokens (over the aliases' prices)"}),
    ("--agora-budget", "budget_usd", {"type": float, "help": "generation budget in USD per case: sizes the instances from a measured pilot (--instances then caps it)"}),
    ("--agora-prompts", "prompts", {"help": "meta-prompts: agorabench (default), unoptimized, json, or a folder of <domain>_<method>.txt prompt files"}),
)


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    from pytest_agorabench import hookspec

    pluginmanager.add_hookspecs(hookspec)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("agorabench", "AgoraBench: LMs as synthetic data generators")
    for flag, dest, kwargs in _OPTIONS:
        group.addoption(flag, dest=f"agorabench_{dest}", default=None, **kwargs)


def pytest_configure(config: pytest.Config) -> None:
    from pytest_agorabench.session import AgoraSession

    config.addinivalue_line("markers", "agorabench: an AgoraBench evaluation case")
    # inspect-ai's own retry set-up warns once per model call; hundreds of copies would bury the summary.
    config.addinivalue_line("filterwarnings", "ignore:The 'initial' parameter is deprecated:DeprecationWarning")
    rootdir = Path(str(config.rootpath))
    cli = {dest: config.getoption(f"agorabench_{dest}") for _, dest, _ in _OPTIONS}
    try:
        pyproject = read_pyproject_table(rootdir)
        run_config = build_config(cli, pyproject, rootdir)
    except ConfigError as exc:
        raise pytest.UsageError(f"agorabench: {exc}") from None
    session = AgoraSession(run_config, cli, pyproject, rootdir, is_worker=hasattr(config, "workerinput"))
    config.stash[_SESSION] = session
    config.pluginmanager.register(session, "agorabench-session")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    from pytest_agorabench.session import REPORT_ATTR, RESULT_KEY

    report = yield
    result = item.stash.get(RESULT_KEY, None)
    if result is not None and report.when == "call":
        setattr(report, REPORT_ATTR, result.to_dict())
    return report


@pytest.fixture
def agorabench(request: pytest.FixtureRequest):
    """Run AgoraBench cases from a test: ``agorabench.case("math/response_generation", generator=...)``."""
    from pytest_agorabench.api import AgoraBench

    return AgoraBench(request.config.stash[_SESSION], request)
