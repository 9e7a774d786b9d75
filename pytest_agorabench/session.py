"""Run-wide state of a pytest session, registered as a plugin (the plugin module itself stays thin)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pytest_agorabench.config import RunConfig, build_config
from pytest_agorabench.errors import AgoraBenchError
from pytest_agorabench.report.json_report import build_report, write_report
from pytest_agorabench.report.terminal import summary_lines

REPORT_ATTR = "agorabench_case"  # attribute on a TestReport; pytest/xdist serialize it to the controller
RESULT_KEY = pytest.StashKey[Any]()  # the CaseResult a test produced, on its item


class AgoraSession:
    def __init__(
        self, config: RunConfig, cli: dict[str, Any], pyproject: dict[str, Any], rootdir: Path, is_worker: bool,
        gpu_plan: Any = None, session_id: str | None = None, cpu_threads: int | None = None,
    ):
        from pytest_agorabench.serving.pool import new_session_id

        self.config = config
        # One id for the controller and all its workers (handed over in pytest_configure_node): the shared
        # model servers it starts are recorded under it, and swept by the controller at the end.
        self.session_id = session_id or new_session_id()
        self._servers: dict[Path, Any] = {}
        self.gated_cases = 0  # tests that run cases: the gate's Bonferroni divisor (the same on every worker)
        self.gpu_plan = gpu_plan
        self.cpu_threads = cpu_threads  # torch threads per xdist worker when the cores are shared out
        self.cli = cli
        self.pyproject = pyproject
        self.rootdir = rootdir
        self.is_worker = is_worker
        self.cases: list[dict[str, Any]] = []
        self.report_path: Path | None = None
        self.pages: list[tuple[str, Path]] = []
        self._model_checks: dict[tuple[str, str | None], AgoraBenchError | None] = {}
        self._baseline_problem: str | None = None  # a worker's failed baseline check (pytest_collection_finish)
        self._ray_run: Any = None
        self.cluster: dict[str, Any] | None = None  # --agora-ray: the cluster and its store check (controller)

    def with_overrides(self, **overrides: Any) -> RunConfig:
        """A RunConfig for one case with some options replaced, validated like the command line."""
        cli = dict(self.cli)
        for key, value in overrides.items():
            if key not in cli:
                raise TypeError(f"unknown override {key!r}; valid: {', '.join(sorted(cli))}")
            cli[key] = value
        return build_config(cli, self.pyproject, self.rootdir)

    def check_models(self, config: RunConfig) -> None:
        """preflight.check_models once per process and per (generator, judge): the first case of a worker
        pays for it (a one-token judge request at most), before any of its model calls; later cases reuse
        the verdict. Only a run that holds cases pays, not every pytest run where the plugin is installed."""
        from pytest_agorabench.preflight import check_models

        key = (config.generator, config.judge)
        if key not in self._model_checks:
            try:
                check_models(config)
                self._model_checks[key] = None
            except AgoraBenchError as exc:
                self._model_checks[key] = exc
        if self._model_checks[key] is not None:
            raise self._model_checks[key]

    def servers_for(self, config: RunConfig) -> Any:
        """This process's shared-server pool (serving.Servers) for the case's store."""
        from pytest_agorabench.serving import Servers, visible_gpus
        from pytest_agorabench.store import Store

        store = Store(config.store_dir)
        if store.root not in self._servers:
            plan = self.gpu_plan
            self._servers[store.root] = Servers(
                store.servers_dir(),
                self.session_id,
                generator_gpus=tuple(plan.generator) if plan is not None else (),
                worker_gpus=visible_gpus(),  # this process's group: the plugin pinned it before CUDA started
                log_dir=store.log_dir("servers"),
            )
        return self._servers[store.root]

    def ray_run(self) -> Any:
        """This process's link to the --agora-ray cluster (cluster/ray_run.py), made at first use."""
        if self._ray_run is None:
            from pytest_agorabench.cluster.ray_run import RayRun

            self._ray_run = RayRun(self.config.ray, self.session_id)
        return self._ray_run

    def start_cluster(self) -> None:
        """The controller, before any case: connect, check that every node shares the store, describe the
        cluster for the header and the report. A ClusterError ends the run with its sentence."""
        run = self.ray_run()
        self.cluster = run.describe(self.config)
        self.cluster["store"], hosts = run.check_store(Path(self.config.store_dir))
        for node in self.cluster["nodes"]:
            node["host"] = hosts.get(node["node_id"])

    def stop_cluster(self) -> None:
        if self._ray_run is not None:
            self._ray_run.finish(Path(self.config.store_dir), controller=not self.is_worker)

    def run_on_cluster(self, setting: Any, config: RunConfig, emit: Any) -> Any:
        """The case as a task on a node; its placement on the result."""
        import uuid

        target = {
            "case": getattr(emit, "case_id", None) or f"case-{uuid.uuid4().hex[:12]}",
            "folder": str(emit.folder()) if emit is not None else None,
            "worker": getattr(emit, "worker", "main"),
        }
        result, placement = self.ray_run().run_case(setting.key, config, target)
        result.placement = placement
        return result

    def saved_run(self, config: RunConfig, spec: str) -> Path:
        """The folder of a saved run: a name under the store's runs/, or a path."""
        from pytest_agorabench.gate import resolve
        from pytest_agorabench.store import Store

        return resolve(spec, Store(config.store_dir).runs_dir(), self.rootdir)

    @pytest.hookimpl
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        # After -k / -m deselection: only the cases that run share the 5 %.
        self.gated_cases = sum("agorabench" in getattr(item, "fixturenames", ()) for item in session.items)
        if self.config.compare:
            try:
                self._check_baseline_cases(session.items)
            except AgoraBenchError as exc:  # before the first case: one sentence, no work done
                if not self.is_worker:
                    raise pytest.UsageError(f"agorabench: {exc}") from None
                # An xdist worker cannot end the session cleanly (the controller reports an INTERNALERROR):
                # each of its cases fails at set-up with the sentence instead, still before any work.
                self._baseline_problem = f"agorabench: {exc}"

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        if self._baseline_problem and "agorabench" in getattr(item, "fixturenames", ()):
            pytest.fail(self._baseline_problem, pytrace=False)

    def _check_baseline_cases(self, items: list[pytest.Item]) -> None:
        """The saved run holds every selected suite setting, over the benchmarks (and, for local benchmark
        files, the items) this run will use. A user's own test that names its setting in code is checked
        when its case runs."""
        from pytest_agorabench.gate.saved_runs import check_baseline_cases
        from pytest_agorabench.pipeline.evaluate import benchmark_items, benchmark_names
        from pytest_agorabench.settings import Setting

        config = self.config
        local = config.benchmark_dir is not None or config.profile.data_source != "hub"
        wanted: dict[str, dict[str, set[str] | None]] = {}
        for item in items:
            params = getattr(getattr(item, "callspec", None), "params", {})
            for setting in (v for v in params.values() if isinstance(v, Setting)):
                if setting.key in wanted or "agorabench" not in getattr(item, "fixturenames", ()):
                    continue
                wanted[setting.key] = {}
                for name in benchmark_names(setting, config):
                    try:
                        ids = {str(i["id"]) for i in benchmark_items(name, config)} if local else None
                    except AgoraBenchError:
                        ids = None  # the case's own preflight names a bad benchmark file
                    wanted[setting.key][name] = ids
        if wanted:
            check_baseline_cases(self.saved_run(config, config.compare), wanted)

    @pytest.hookimpl
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        if self.is_worker:
            return
        from _pytest.junitxml import xml_key  # what pytest's record_testsuite_property fixture writes through

        xml = session.config.stash.get(xml_key, None)
        if xml is not None:
            xml.add_global_property("sandbox_isolation", sandbox_isolation())
            if self.cluster is not None:
                xml.add_global_property("ray_cluster", cluster_header(self.cluster)[0].removeprefix("agorabench "))

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        """pytest-xdist, on the controller: hand the session id to each worker."""
        node.workerinput["agorabench_session"] = self.session_id

    def _stop_servers(self) -> None:
        """Workers release their leases (the last one out stops a server); the controller then stops
        whatever this session started and no live process holds, also after a failure or an interrupt."""
        from pytest_agorabench.serving import Servers
        from pytest_agorabench.store import Store

        for servers in self._servers.values():
            servers.close()
        self.stop_cluster()
        if self.is_worker:
            return
        roots = set(self._servers)
        if Path(self.config.store_dir).is_dir():
            roots.add(Path(self.config.store_dir).resolve())
        for root in roots:
            store = Store(root)
            if store.servers_dir().is_dir():
                Servers(store.servers_dir(), self.session_id).stop_leftovers()

    @pytest.hookimpl
    def pytest_report_header(self) -> list[str]:
        lines = [f"agorabench sandbox: {sandbox_isolation()}"]
        if self.cpu_threads is not None:
            lines.append(
                f"agorabench CPU: {self.cpu_threads} torch thread(s) per worker (no GPUs; OMP_NUM_THREADS overrides)"
            )
        elif self.gpu_plan is not None and not self.gpu_plan.empty:
            lines.append(f"agorabench GPU plan: {self.gpu_plan.describe()}")
        if self.cluster is not None:
            lines += cluster_header(self.cluster)
        return lines

    @pytest.hookimpl
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        case = getattr(report, REPORT_ATTR, None)
        if case is not None and report.when == "call":
            self.cases.append({**case, "nodeid": report.nodeid, "outcome": report.outcome})

    def report_target(self) -> Path:
        from pytest_agorabench.store import Store

        return self.config.json_report or Store(self.config.store_dir).report_path()

    @pytest.hookimpl
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        self._stop_servers()
        if self.is_worker or not self.cases:
            return
        run = self.config.summary()
        run["sandbox_isolation"] = sandbox_isolation()
        if self.gpu_plan is not None:
            run["gpu_plan"] = self.gpu_plan.to_dict()
        if self.cluster is not None:
            run["cluster"] = self.cluster
        servers = {name: info for case in self.cases for name, info in case.get("servers", {}).items()}
        if servers:
            run["servers"] = servers
        report = build_report(self.cases, run)
        gate = gate_summary(self.cases, self.config)
        if gate:
            report["summary"]["gate"] = gate
        session.config.hook.pytest_agorabench_json_report(report=report)
        self.report_path = write_report(self.report_target(), report)
        self.pages = self._write_pages(report)
        if self.config.save:
            from pytest_agorabench.gate import finish
            from pytest_agorabench.store import package_versions

            self.saved_path = self.saved_run(self.config, self.config.save)
            finish(self.saved_path, self.config.save, report, package_versions())
        self._summary = report["summary"]

    def _write_pages(self, report: dict[str, Any]) -> list[tuple[str, Path | str]]:
        """The HTML page (by default next to the JSON report) and the Markdown Table 2 (when asked for)."""
        from pytest_agorabench.report.pages import write_pages

        default = self.report_path.with_suffix(".html")
        if default == self.report_path:  # a JSON report named *.html keeps its name; the page goes beside it
            default = self.report_path.with_name(self.report_path.name + ".page.html")
        html = None if self.config.html_off else self.config.html_report or default
        return write_pages(report, html, self.config.md_report)

    @pytest.hookimpl
    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.is_worker or not self.cases:
            return
        terminalreporter.section("agorabench")
        ordered = sorted(self.cases, key=lambda c: c["setting"])
        for line in summary_lines(ordered, self._summary):
            terminalreporter.write_line(line)
        terminalreporter.write_line(f"JSON report: {self.report_path}")
        for what, path in self.pages:
            terminalreporter.write_line(f"{what}: {path}")
        if self.config.save:
            terminalreporter.write_line(f"saved run {self.config.save!r}: {self.saved_path}")


def cluster_header(cluster: dict[str, Any]) -> list[str]:
    """The header's lines for --agora-ray: the cluster's resources, what a case asks for, the store check."""
    store = cluster["store"]
    hosts = ", ".join(f"{host} ({seen['fs'] or 'unknown filesystem'})" for host, seen in sorted(store["nodes"].items()))
    return [
        f"agorabench Ray cluster {cluster['address']}: {len(cluster['nodes'])} node(s), {cluster['gpus']:g} GPU(s), "
        f"{cluster['cpus']:g} CPU(s); each case asks {cluster['gpus_per_case']:g} GPU(s) and "
        f"{cluster['cpus_per_case']} CPU; a lost node's case is retried up to {cluster['case_retries']} time(s)",
        f"agorabench store {store['path']}: shared, locks hold across nodes; seen by {hosts}",
    ]


def sandbox_isolation() -> str:
    """What contains the code benchmarks' programs in this run, in words (header, JSON report, JUnit)."""
    from pytest_agorabench.environment import SANDBOX
    from pytest_agorabench.sandbox.isolation import isolation

    name, _ = SANDBOX.get()
    if name not in ("agora", "isolated"):
        return f"{name} (an inspect sandbox of its own; our namespace boundary is not used)"
    return isolation().describe()


def gate_summary(cases: list[dict[str, Any]], config: RunConfig) -> dict[str, Any] | None:
    """The session's view of the gate: each case decided alone (Bonferroni); Holm over all of them here."""
    from pytest_agorabench.gate.stats import holm

    gated = {c["setting"]: c["gate"] for c in cases if c.get("gate") and c["gate"].get("margin") is not None}
    if not gated:
        return None
    p_values = {k: g["p_drop"] for k, g in gated.items() if g.get("p_drop") is not None}
    significant = holm(p_values)
    return {
        "baseline": config.compare,
        "margin": config.max_drop,
        "gated": len(gated),
        "failed": sum(g["gate"] == "failed" for g in gated.values()),
        "holm_failed": sorted(k for k, hit in significant.items() if hit),
        "note": "each case's test decides with Bonferroni (5 % / gated cases); Holm's step-down over the "
        "session's p-values is shown for reference and can flag more cases",
    }
