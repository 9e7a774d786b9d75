"""``agora``: our local sandbox behind inspect's ``SandboxEnvironment`` interface.

A task that declares ``sandbox="agora"`` gets, per sample, a private temporary directory on this machine and
an ``exec`` that runs through ``local.run_command`` (own session, minimal environment, network namespace when
available, output caps, the process group killed at the end). Choosing ``sandbox="docker"`` instead swaps in
inspect's docker sandbox with no change to the scorers, which only use ``exec``/``write_file``.
Importing this module imports inspect; ``sandbox/__init__`` keeps it lazy.
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path
from typing import Literal, Union, overload

from inspect_ai.util import (
    ExecResult,
    OutputLimitExceededError,
    SandboxEnvironment,
    SandboxEnvironmentConfigType,
    sandboxenv,
)

from pytest_agorabench.environment import SANDBOX
from pytest_agorabench.sandbox.limits import Limits
from pytest_agorabench.sandbox.local import remove_tree, run_command, workers

SANDBOX_NAME = "agora"
CHOICE_ENV = SANDBOX.name  # "agora" (default), "docker", "docker:<compose file>", any inspect sandbox
_DEFAULT_TIMEOUT = 60.0  # an exec without a timeout still ends; programs pass their own (scaled) limit


@sandboxenv(name=SANDBOX_NAME)
class AgoraSandboxEnvironment(SandboxEnvironment):
    @classmethod
    def default_concurrency(cls) -> int | None:
        return workers()

    @classmethod
    async def sample_init(
        cls, task_name: str, config: SandboxEnvironmentConfigType | None, metadata: dict[str, str]
    ) -> dict[str, SandboxEnvironment]:
        return {"default": cls()}

    @classmethod
    async def sample_cleanup(
        cls,
        task_name: str,
        config: SandboxEnvironmentConfigType | None,
        environments: dict[str, SandboxEnvironment],
        interrupted: bool,
    ) -> None:
        for environment in environments.values():
            if isinstance(environment, AgoraSandboxEnvironment):
                environment.cleanup()

    def __init__(self) -> None:
        super().__init__()
        self.directory = Path(tempfile.mkdtemp(prefix="agora-sandbox-"))
        self.output_bytes = Limits().output_bytes

    def cleanup(self) -> None:
        remove_tree(self.directory)

    def _resolve(self, file: str) -> Path:
        path = Path(file)
        path = path if path.is_absolute() else self.directory / path
        resolved = path.resolve()
        if resolved != self.directory.resolve() and self.directory.resolve() not in resolved.parents:
            raise PermissionError(f"{file!r} is outside the sandbox directory {self.directory}")
        return resolved

    async def exec(
        self,
        cmd: list[str],
        input: str | bytes | None = None,
        cwd: str | None = None,
        env: dict[str, str] | None = None,
        user: str | None = None,
        timeout: int | None = None,
        timeout_retry: bool = True,
        concurrency: bool = True,
    ) -> ExecResult[str]:
        if user is not None:
            from inspect_ai.util import SandboxUserUnsupportedError

            raise SandboxUserUnsupportedError("the agora sandbox runs commands as one fixed user")
        data = input.encode() if isinstance(input, str) else (input or b"")
        result = await run_command(
            list(cmd),
            cwd=self._resolve(cwd or "."),
            timeout=float(timeout) if timeout else _DEFAULT_TIMEOUT,
            output_bytes=self.output_bytes,
            stdin=data,
            env=env,
        )
        if result.timed_out:
            raise TimeoutError(f"command timed out after {math.ceil(result.seconds)} s: {cmd[0]}")
        if result.output_limited:
            raise OutputLimitExceededError(f"{self.output_bytes} bytes", result.stdout)
        code = result.returncode if result.returncode is not None else -9
        return ExecResult(success=code == 0, returncode=code, stdout=result.stdout, stderr=result.stderr)

    async def write_file(self, file: str, contents: str | bytes) -> None:
        path = self._resolve(file)
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(contents, str):
            path.write_text(contents, encoding="utf-8")
        else:
            path.write_bytes(contents)

    @overload
    async def read_file(self, file: str, text: Literal[True] = True) -> str: ...

    @overload
    async def read_file(self, file: str, text: Literal[False]) -> bytes: ...

    async def read_file(self, file: str, text: bool = True) -> Union[str, bytes]:
        path = self._resolve(file)
        if not path.exists():
            raise FileNotFoundError(f"{file!r} does not exist in the sandbox")
        return path.read_text(encoding="utf-8") if text else path.read_bytes()


def task_sandbox() -> tuple[str, str | None]:
    """The sandbox code tasks declare: ``AGORABENCH_SANDBOX`` as ``name`` or ``name:config``, else ours
    (``isolated`` is ours too: the start-up check made sure it has its boundary)."""
    name, config = SANDBOX.get()
    return ("agora", config) if name == "isolated" else (name, config)
