"""pytest hooks and fixtures of pytest-agorabench; run-wide state lives in session.AgoraSession."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pytest_agorabench import environment
from pytest_agorabench.config import build_config
from pytest_agorabench.option_table import OPTIONS, read_pyproject_table
from pytest_agorabench.errors import AgoraBenchError

_SESSION = pytest.StashKey["Any"]()
_PROGRESS = pytest.StashKey["Any"]()


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    from pytest_agorabench import hookspec

    pluginmanager.add_hookspecs(hookspec)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("agorabench", "AgoraBench: LMs as synthetic data generators")
    for option in OPTIONS:
        group.addoption(option.flag, dest=f"agorabench_{option.key}", default=None, **option.argparse())
    # An explicit word for this run only (not a pyproject key): replacing a baseline must never be a default.
    group.addoption(
        "--agora-save-overwrite", dest="agorabench_save_overwrite", action="store_true", default=False,
        help="let --agora-save replace an earlier saved run of the same name or folder",
    )
    from pytest_agorabench.report.progress import MODES

    # A display option, not a run setting: it changes no result, so it stays out of RunConfig and the reports.
    group.addoption(
        "--agora-progress", dest="agorabench_progress", default="auto", choices=MODES,
        help="progress of running cases: live rows on a terminal, plain lines otherwise (auto), or off; "
        "-q turns it off",
    )


def pytest_configure(config: pytest.Config) -> None:
    from pytest_agorabench.session import AgoraSession

    config.addinivalue_line("markers", "agorabench: an AgoraBench evaluation case")
    # inspect-ai's own retry set-up warns once per model call; hundreds of copies would bury the summary.
    config.addinivalue_line("filterwarnings", "ignore:The 'initial' parameter is deprecated:DeprecationWarning")
    rootdir = Path(str(config.rootpath))
    cli = {option.key: config.getoption(f"agorabench_{option.key}") for option in OPTIONS}
    try:
        environment.validate()
        from pytest_agorabench.sandbox.isolation import check_required

        check_required()  # AGORABENCH_SANDBOX=isolated: before any case, not at the first code benchmark
        pyproject = read_pyproject_table(rootdir)
        run_config = build_config(cli, pyproject, rootdir)
        # On a Ray cluster the nodes' tasks get their GPUs and CPUs from Ray; this process only waits on them.
        plan = _gpu_plan(config, run_config) if not run_config.ray else None
        cpu_threads = _share_cpus(config, plan) if plan is not None else None
        if run_config.compare or run_config.save:
            from pytest_agorabench.gate.saved_runs import check_at_startup
            from pytest_agorabench.store import Store

            check_at_startup(
                run_config.save, run_config.compare, Store(run_config.store_dir).runs_dir(), rootdir,
                run_config.summary(), config.getoption("agorabench_save_overwrite"),
                controller=getattr(config, "workerinput", None) is None,
            )
    except AgoraBenchError as exc:
        raise pytest.UsageError(f"agorabench: {exc}") from None
    workerinput = getattr(config, "workerinput", None)
    session = AgoraSession(
        run_config, cli, pyproject, rootdir, is_worker=workerinput is not None, gpu_plan=plan,
        session_id=workerinput.get("agorabench_session") if workerinput is not None else None,
        cpu_threads=cpu_threads,
    )
    if run_config.ray and workerinput is None:
        try:
            session.start_cluster()
        except AgoraBenchError as exc:
            session.stop_cluster()
            raise pytest.UsageError(f"agorabench: {exc}") from None
    config.stash[_SESSION] = session
    config.pluginmanager.register(session, "agorabench-session")
    _register_progress(config, session, workerinput)


def _register_progress(config: pytest.Config, session: Any, workerinput: Any) -> None:
    from pytest_agorabench.report.progress import ProgressPlugin, progress_mode
    from pytest_agorabench.store import progress_dir

    worker = str(workerinput["workerid"]) if workerinput is not None else None
    progress = ProgressPlugin(config, progress_dir(session.config.store_dir, session.session_id), worker,
                              progress_mode(config))
    config.stash[_PROGRESS] = progress
    config.pluginmanager.register(progress, "agorabench-progress")


def _gpu_plan(config: pytest.Config, run_config: Any) -> Any:
    """Make the GPU plan and pin this process to its group: an xdist worker (gwN) to group N, a run without
    -n to the one group; the xdist controller does no GPU work and keeps every GPU visible."""
    import os

    from pytest_agorabench.serving.gpu_plan import make_plan, visible_gpus

    workerinput = getattr(config, "workerinput", None)
    workers = _workers(config)
    plan = make_plan(
        visible_gpus(), workers, run_config.gpus, run_config.generator_gpus, run_config.gpus_per_worker
    )
    if plan.empty:
        return plan
    if workerinput is not None:
        group = plan.for_worker(int(str(workerinput["workerid"]).removeprefix("gw")))
    elif workers == 1:
        group = plan.for_worker(0)
    else:
        return plan
    # Before anything touches CUDA in this process; the training subprocess inherits it.
    os.environ["CUDA_VISIBLE_DEVICES"] = ",".join(group)
    return plan


def _workers(config: pytest.Config) -> int:
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None:
        return int(workerinput["workercount"])
    numprocesses = config.getoption("numprocesses", None)
    return numprocesses if isinstance(numprocesses, int) and numprocesses > 0 else 1


def _share_cpus(config: pytest.Config, plan: Any) -> int | None:
    """Without GPUs, each xdist worker gets its share of the cores (serving/cpu_share.py); the controller
    only works out the figure for the header. None: no -n, GPUs in the plan, or the user's own setting."""
    from pytest_agorabench.serving.cpu_share import planned_threads, share_cpus

    if not plan.empty:
        return None
    if getattr(config, "workerinput", None) is not None:
        return share_cpus(_workers(config))
    return planned_threads(_workers(config))


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    from pytest_agorabench.case_order import spread

    items[:] = spread(items)  # the same order in every xdist worker: it depends on the collection only


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

    return AgoraBench(request.config.stash[_SESSION], request, progress=request.config.stash[_PROGRESS].writer)
