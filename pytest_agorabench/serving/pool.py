"""Model -> what inspect should call: ``Servers.endpoint``.

- API models (``openai/``, ``anthropic/``, ``together/``, an OpenAI-compatible endpoint with its base URL) and
  our in-process models (``agora/``, ``agora-script/``) pass through unchanged.
- Weights served locally (``vllm/<hub id or dir>``) get one vllm server per host, shared by every process that
  asks: the first starts it under the key's lock and records it (server_records.py), the others connect
  through its base URL. Each process holds a lease while it uses the server; the last one out stops it, and
  the session's controller stops whatever its workers left (``stop_leftovers``). A record whose server or
  holders are gone (a killed session) is replaced, never reused.

A generator server is held until the process closes its pool (every case of a worker uses it). A student
server is held until the next student server of that process is asked for, or the case ends: a worker's GPU
group holds one student at a time, and each student is served once per case.
"""

from __future__ import annotations

import atexit
import socket
import uuid
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, TypeVar

from pytest_agorabench.environment import VLLM_ARGS
from pytest_agorabench.errors import AgoraBenchError
from pytest_agorabench.files import canonical_json, text_hash
from pytest_agorabench.hosts import host_id
from pytest_agorabench.serving import vllm_launch
from pytest_agorabench.serving.processes import ProcessId
from pytest_agorabench.serving.server_records import Lease, ServerRecord, ServerRegistry

SERVED_PROVIDERS = frozenset({"vllm"})  # providers whose weights we serve (the rest pass through)
GENERATOR, STUDENT = "generator", "student"
T = TypeVar("T")


class ServerDied(vllm_launch.ServerStartError):
    """A shared server that died again after its one restart."""


class AnotherHostsServer(AgoraBenchError):
    """This host's servers folder holds a record written by another host: its pid and address mean nothing
    here, and it is not ours to stop or replace."""


@dataclass(frozen=True)
class Endpoint:
    model: str  # the inspect model string to call
    base_url: str | None = None  # the shared server's OpenAI-compatible address, for a served model
    server: ServerRecord | None = None

    @property
    def key(self) -> str | None:
        return self.server.key if self.server else None

    def inspect_model(self) -> Any:
        """What to hand inspect: the model string, or for a served model an inspect Model bound to its
        server (inspect's eval takes no base URL per model, and its vllm provider would start its own)."""
        if self.base_url is None:
            return self.model
        from inspect_ai.model import get_model

        return get_model(self.model, base_url=self.base_url, memoize=False)


def served_weights(model: str) -> str | None:
    """The weights a model string asks us to serve (``vllm/org/name`` -> ``org/name``), or None."""
    provider, _, rest = model.partition("/")
    return rest if provider in SERVED_PROVIDERS and rest else None


def new_session_id() -> str:
    return uuid.uuid4().hex[:12]


def _free_port() -> int:
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Servers:
    """This process's view of the host's shared model servers, for one store and one pytest session."""

    def __init__(
        self,
        directory: Path,
        session: str,
        *,
        generator_gpus: tuple[str, ...] = (),
        worker_gpus: tuple[str, ...] = (),
        log_dir: Path | None = None,
    ):
        self.registry = ServerRegistry(directory)
        self.session = session
        self.generator_gpus = generator_gpus
        self.worker_gpus = worker_gpus
        self.log_dir = Path(log_dir) if log_dir else Path(directory) / "logs"
        self.me = ProcessId.current()
        self.holder = uuid.uuid4().hex[:8]
        self._held: dict[str, tuple[str, ServerRecord]] = {}  # key -> (role, record)
        self._restarts: dict[str, int] = {}
        self.used: dict[str, dict[str, Any]] = {}  # served model -> its record, for the report
        atexit.register(self.close)

    # ------------------------------------------------------------------ asking for a model

    def endpoint(self, model: str, role: str = STUDENT) -> Endpoint:
        weights = served_weights(model)
        if weights is None:
            return Endpoint(model)
        if role == STUDENT:  # one student server per process at a time (its GPU group holds one)
            for key, (held_role, _) in list(self._held.items()):
                if held_role == STUDENT and key != self._key(weights, role):
                    self.release(key)
        record = self._acquire(weights, role)
        self.used[record.served_name] = {**record.public(), "role": role}
        return self._connect(record)

    def call(self, model: str, role: str, run: Callable[[Endpoint], T]) -> T:
        """``run(endpoint)`` for ``model``; when it fails and the model's server turns out to have died,
        once more against the restarted server (a journaled stage resumes where it stopped)."""
        endpoint = self.endpoint(model, role)
        try:
            return run(endpoint)
        except Exception:
            revived = self.revive(endpoint)
            if revived is None:
                raise
            return run(revived)

    def take_used(self) -> dict[str, dict[str, Any]]:
        """The servers called since the last take (a case's), by served name, for its report."""
        used, self.used = self.used, {}
        return used

    def revive(self, endpoint: Endpoint) -> Endpoint | None:
        """After a failed run against ``endpoint``: a new endpoint when its server had died and is now
        running again (restarted here once, or already by another process), None when it is still up (the
        failure was not the server's). A second death raises ServerDied naming the log."""
        if endpoint.server is None:
            return None
        old = endpoint.server
        with self.registry.lock(old.key):
            current = self._own(self.registry.record(old.key))
            if current is not None and self._usable(current):
                if current.instance == old.instance:
                    return None
                self._hold(current, self._role(old.key))
                return self._connect(current)
            if self._restarts.get(old.key, 0) >= 1:
                raise ServerDied(
                    f"the vllm server for {old.model} died again after one restart; its output: {old.log}"
                )
            self._restarts[old.key] = self._restarts.get(old.key, 0) + 1
            if current is not None and current.process.running_here():
                vllm_launch.stop(current.pid)
            record = self._start(old.key, old.model, tuple(old.gpus))
            self._hold(record, self._role(old.key))
            return self._connect(record)

    # ------------------------------------------------------------------ letting go

    def release_role(self, role: str) -> None:
        for key, (held_role, _) in list(self._held.items()):
            if held_role == role:
                self.release(key)

    def release(self, key: str) -> None:
        """Drop this process's lease; stop the server when no live lease is left."""
        if key not in self._held:
            return
        role, _ = self._held.pop(key)
        with self.registry.lock(key):
            self.registry.remove_lease(key, Lease(self.me, self.session, role, self.holder))
            self._stop_if_unused(key)

    def close(self) -> None:
        for key in list(self._held):
            self.release(key)

    def stop_leftovers(self) -> list[str]:
        """The controller's sweep at session end: stop every server this session started that no live
        process holds any more (a worker that crashed or was interrupted never released it)."""
        stopped = []
        for key in self.registry.keys():
            record = self.registry.record(key)
            if record is None or record.session != self.session:
                continue
            with self.registry.lock(key):
                if self._stop_if_unused(key):
                    stopped.append(record.served_name)
        return stopped

    # ------------------------------------------------------------------ internals

    def _key(self, weights: str, role: str) -> str:
        gpus = self._gpus(role)
        return text_hash(canonical_json([weights, list(gpus), VLLM_ARGS.raw() or ""]))[:16]

    def _gpus(self, role: str) -> tuple[str, ...]:
        return self.generator_gpus if role == GENERATOR and self.generator_gpus else self.worker_gpus

    def _role(self, key: str) -> str:
        return self._held.get(key, (STUDENT, None))[0]

    def _own(self, record: ServerRecord | None) -> ServerRecord | None:
        """``record``, refused when another host wrote it (its folder was copied or renamed): its pid and
        address mean nothing here, and replacing it would orphan that host's server."""
        if record is not None and not record.process.here():
            raise AnotherHostsServer(
                f"{self.registry.folder(record.key)} holds a server record written on host {record.host!r}, but "
                f"this is host {host_id()!r}: each host keeps its own servers folder; remove that folder once "
                f"host {record.host!r} no longer runs the server"
            )
        return record

    def _usable(self, record: ServerRecord) -> bool:
        return record.process.running_here() and vllm_launch.healthy(record.base_url)

    def _acquire(self, weights: str, role: str) -> ServerRecord:
        key = self._key(weights, role)
        if key in self._held:
            return self._held[key][1]
        with self.registry.lock(key, timeout=vllm_launch.start_timeout() + 120):
            record = self._own(self.registry.record(key))
            if record is not None:
                shared = self.registry.live_leases(key) or record.session == self.session
                if not (shared and self._usable(record)):
                    # Left by a killed session (no live holder), or dead: never reuse it blindly.
                    if record.process.alive():
                        vllm_launch.stop(record.pid)
                    self.registry.clear(key)
                    record = None
            if record is None:
                record = self._start(key, weights, self._gpus(role))
            self._hold(record, role)
        return record

    def _hold(self, record: ServerRecord, role: str) -> None:
        self.registry.add_lease(record.key, Lease(self.me, self.session, role, self.holder))
        self._held[record.key] = (role, record)
        self.used[record.served_name] = {**record.public(), "role": role}

    def _start(self, key: str, weights: str, gpus: tuple[str, ...]) -> ServerRecord:
        """Start a server (the caller holds the key's lock) and wait until it answers."""
        python = vllm_launch.vllm_python()
        instance = uuid.uuid4().hex[:8]
        port = _free_port()
        launch = vllm_launch.Launch(python, weights, f"{weights}@{instance}", port, tuple(gpus))
        log = self.log_dir / f"{key}-{instance}.log"
        proc = vllm_launch.start(launch, log)
        record = ServerRecord(
            key=key, model=weights, served_name=launch.served_name, port=port, base_url=f"http://127.0.0.1:{port}",
            gpus=list(gpus), command=launch.command(), log=str(log), pid=proc.pid,
            started=ProcessId.of(proc.pid).started, session=self.session, instance=instance, host=host_id(),
        )
        self.registry.write(record)  # before the wait: a start cut short still names its process
        self.registry.started(record)
        try:
            vllm_launch.wait_healthy(proc, record.base_url, log, vllm_launch.start_timeout())
        except BaseException:
            vllm_launch.stop(proc.pid)
            self.registry.clear(key)
            raise
        return record

    def _stop_if_unused(self, key: str) -> bool:
        record = self.registry.record(key)
        if record is None or not record.process.here() or self.registry.live_leases(key):
            return False  # in use, or another host's to stop
        if record.process.alive():
            vllm_launch.stop(record.pid)
        self.registry.clear(key)
        return True

    @staticmethod
    def _connect(record: ServerRecord) -> Endpoint:
        return Endpoint(f"vllm/{record.served_name}", f"{record.base_url}/v1", record)
