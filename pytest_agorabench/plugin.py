"""pytest hooks and fixtures of pytest-agorabench; run-wide state lives in session.AgoraSession."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_agorabench.config import OPTIONS, build_config, read_pyproject_table
from pytest_agorabench.errors import AgoraBenchError

_SESSION = pytest.StashKey["Any"]()


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    from pytest_agorabench import hookspec

    pluginmanager.add_hookspecs(hookspec)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("agorabench", "AgoraBench: LMs as synthetic data generators")
    for option in OPTIONS:
        group.addoption(option.flag, dest=f"agorabench_{option.key}", default=None, **option.argparse())


def pytest_configure(config: pytest.Config) -> None:
    from pytest_agorabench.session import AgoraSession

    config.addinivalue_line("markers", "agorabench: an AgoraBench evaluation case")
    # inspect-ai's own retry set-up warns once per model call; hundreds of copies would bury the summary.
    config.addinivalue_line("filterwarnings", "ignore:The 'initial' parameter is deprecated:DeprecationWarning")
    rootdir = Path(str(config.rootpath))
    cli = {option.key: config.getoption(f"agorabench_{option.key}") for option in OPTIONS}
    try:
        pyproject = read_pyproject_table(rootdir)
        run_config = build_config(cli, pyproject, rootdir)
    except AgoraBenchError as exc:
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
