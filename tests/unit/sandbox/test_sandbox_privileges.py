"""Running as root: programs run as an unprivileged uid when the interpreter stays usable for it, so the kernel
(not only the in-process guard) keeps them from our files and processes."""

from __future__ import annotations

import asyncio
import os
import shutil
import sys

import pytest

from pytest_agorabench.sandbox import Limits, run_python
from pytest_agorabench.sandbox.programs import DROP_ROOT_ENV, NOBODY, unprivileged_uid

SYSTEM_PYTHON = shutil.which("python3", path="/usr/bin:/bin")
# The uid drop is the fallback's: inside the namespace boundary every program is uid 65534 already.
pytestmark = pytest.mark.usefixtures("fallback")


@pytest.fixture(autouse=True)
def fresh_probe():
    unprivileged_uid.cache_clear()
    yield
    unprivileged_uid.cache_clear()


def test_no_uid_change_when_not_root_or_when_turned_off(monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert unprivileged_uid(sys.executable) is None
    unprivileged_uid.cache_clear()
    monkeypatch.undo()
    monkeypatch.setenv(DROP_ROOT_ENV, "0")
    assert unprivileged_uid(sys.executable) is None


def test_an_interpreter_the_unprivileged_uid_cannot_use_keeps_our_uid(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("only root changes uid")
    hidden = tmp_path / "private"
    hidden.mkdir(mode=0o700)
    python = hidden / "python3"
    python.symlink_to(sys.executable)
    assert unprivileged_uid(str(python)) is None  # the probe failed: no uid change rather than broken runs


@pytest.mark.skipif(os.geteuid() != 0 or SYSTEM_PYTHON is None, reason="needs root and a system python3")
def test_programs_run_as_nobody_and_the_kernel_refuses_our_files(tmp_path):
    if unprivileged_uid(SYSTEM_PYTHON) != NOBODY:
        pytest.skip(f"{SYSTEM_PYTHON} is not usable by uid {NOBODY} here")
    secret = tmp_path / "root-only.txt"
    secret.write_text("sk-root-only")
    secret.chmod(0o600)
    source = (
        "import os\nprint(os.getuid(), os.getgid())\nopen('mine.txt', 'w').write('ok')\n"
        f"try:\n    open({str(secret)!r}).read()\nexcept PermissionError:\n    print('refused by the kernel')\n"
    )
    result = asyncio.run(run_python(source, Limits(wall_seconds=10), python=SYSTEM_PYTHON))
    assert result.passed, result
    assert result.stdout.split("\n")[:2] == [f"{NOBODY} {NOBODY}", "refused by the kernel"]
    assert "sk-root-only" not in result.stdout


@pytest.mark.skipif(SYSTEM_PYTHON is None, reason="needs a system python3")
def test_the_python_env_var_picks_the_programs_interpreter(monkeypatch):
    from pytest_agorabench.sandbox.programs import PYTHON_ENV

    monkeypatch.setenv(PYTHON_ENV, SYSTEM_PYTHON)
    result = asyncio.run(run_python("import sys\nprint(sys.executable)\n", Limits(wall_seconds=10)))
    assert result.passed and result.stdout.strip() == SYSTEM_PYTHON
