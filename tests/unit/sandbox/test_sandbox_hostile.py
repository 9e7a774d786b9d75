"""Hostile programs: each is contained, scored as a failure, leaves nothing behind, and the host carries on."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pytest_agorabench.sandbox import Limits

OUTSIDE = "OUTSIDE_PATH"  # replaced by a path in the test's own temporary directory

HOSTILE = {
    "infinite_loop": "while True:\n    pass\n",
    "sleep_forever": "import time\ntime.sleep(10_000)\n",
    "fork_bomb": "import os\nwhile True:\n    os.fork()\n",
    "fork_bomb_via_multiprocessing": "import multiprocessing\nwhile True:\n    multiprocessing.Process(target=print).start()\n",
    "memory_hog": "hoard = []\nwhile True:\n    hoard.append(bytearray(64 << 20))\n",
    "huge_output": "import sys\nwhile True:\n    sys.stdout.write('spam' * 10_000)\n",
    "huge_stderr": "import sys\nwhile True:\n    sys.stderr.write('eggs' * 10_000)\n",
    "huge_file": "with open('big.bin', 'wb') as f:\n    while True:\n        f.write(b'x' * (1 << 20))\n",
    "write_outside": f"open({OUTSIDE!r}, 'w').write('pwned')\n",
    "write_outside_relative": f"import os\nos.chdir('/')\nopen({OUTSIDE!r}.lstrip('/'), 'w').write('pwned')\n",
    "write_outside_via_symlink": f"import os\nos.symlink({OUTSIDE!r}, 'link')\nopen('link', 'w').write('pwned')\n",
    "write_outside_via_dir_fd": (
        f"import os\nd = os.open(os.path.dirname({OUTSIDE!r}), os.O_RDONLY)\n"
        f"fd = os.open(os.path.basename({OUTSIDE!r}), os.O_WRONLY | os.O_CREAT, dir_fd=d)\nos.write(fd, b'pwned')\n"
    ),
    "rename_into_outside": f"import os\nopen('x', 'w').write('pwned')\nos.rename('x', {OUTSIDE!r})\n",
    "open_socket": "import socket\ns = socket.socket()\ns.connect(('127.0.0.1', 9))\n",
    "dns_lookup": "import socket\nsocket.getaddrinfo('example.com', 80)\n",
    "http_request": "import urllib.request\nurllib.request.urlopen('http://example.com', timeout=2)\n",
    "kill_parent": "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\n",
    "kill_parent_via_pidfd": "import os, signal\nsignal.pidfd_send_signal(os.pidfd_open(os.getppid()), signal.SIGKILL)\n",
    "kill_parent_via_shell": "import os\nos.system('kill -9 $PPID')\n",
    "kill_parent_via_subprocess": "import subprocess\nsubprocess.run(['kill', '-9', str(__import__('os').getppid())])\n",
    "kill_parent_via_ctypes": "import ctypes, os\nctypes.CDLL(None).kill(os.getppid(), 9)\n",
    "deep_recursion": "def down(n):\n    return down(n + 1)\ndown(0)\n",
    "deep_recursion_unlimited": "import sys\nsys.setrecursionlimit(10**8)\ndef down(n):\n    return down(n + 1)\ndown(0)\n",
    "sys_exit_zero": "import sys\nsys.exit(0)\nassert False, 'the tests below never ran'\n",
    "builtin_exit": "exit()\nassert False\n",
    "os_exit_zero": "import os\nos._exit(0)\nassert False\n",
    "raise_system_exit_in_atexit": "import atexit, os\natexit.register(lambda: os._exit(0))\nraise ValueError('wrong')\n",
    "kill_self": "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n",
    "swallow_then_exit": "import sys\ntry:\n    assert 1 == 2\nexcept AssertionError:\n    sys.exit(0)\n",
    "read_env_secrets": "import os\nprint(dict(os.environ))\nassert 'AGORA_HOSTILE_SECRET' in os.environ\n",
    "read_parent_environ": "import os\nprint(open(f'/proc/{os.getppid()}/environ').read())\n",
    "read_environ_via_proc_listing": (
        "import os\nfor pid in os.listdir('/proc'):\n    if pid.isdigit() and int(pid) != os.getpid():\n"
        "        try:\n            print(open(f'/proc/{pid}/environ').read())\n        except OSError:\n"
        "            pass\nraise SystemExit(1)\n"
    ),
    "read_home_secret": "print(open(HOME_SECRET).read())\n",
    "read_kernel_memory": "print(open('/proc/kcore', 'rb').read(64))\n",
    "raise_own_limits": "import resource\nresource.setrlimit(resource.RLIMIT_CPU, (10**6, 10**6))\nwhile True:\n    pass\n",
    "reload_to_restore_pidfd": "import importlib, posix\nimportlib.reload(posix)\nposix.pidfd_open(1)\n",
    "reimport_posix": "import sys\ndel sys.modules['posix']\nimport posix\nposix.pidfd_open(1)\n",
    "close_report_descriptors": (
        "import os\nfor fd in range(3, 64):\n    try:\n        os.close(fd)\n    except OSError:\n        pass\n"
    ),
}


@pytest.fixture
def home_secret():
    """A secret file in the home directory of the uid the tests run as (where tokens and keys live)."""
    path = Path.home() / f".agora-sandbox-test-{os.getpid()}"
    try:
        path.write_text("sk-home-secret")
    except OSError:
        pytest.skip("the home directory is not writable")
    yield path
    path.unlink(missing_ok=True)


@pytest.fixture
def host_secret(monkeypatch):
    monkeypatch.setenv("AGORA_HOSTILE_SECRET", "sk-hostile-test-secret")
    return "sk-hostile-test-secret"


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_program_is_contained_and_fails(
    name, tmp_path, sandbox_root, host_secret, home_secret, run_program, find_processes
):
    outside = tmp_path / "outside" / "victim.txt"
    outside.parent.mkdir()
    source = HOSTILE[name].replace(OUTSIDE, str(outside)).replace("HOME_SECRET", repr(str(home_secret)))
    limits = Limits(wall_seconds=4, cpu_seconds=2, memory_bytes=512 << 20, file_bytes=8 << 20, output_bytes=32 << 10)

    result = run_program(source, limits)

    assert not result.passed, (name, result)
    assert result.status in ("failed", "timeout", "output_limit", "crashed")
    assert not outside.exists(), "a file appeared outside the sandbox"
    assert host_secret not in result.stdout + result.stderr and "sk-home-secret" not in result.stdout + result.stderr
    assert find_processes(sandbox_root) == [], "a process it started is still running"
    assert list(sandbox_root.iterdir()) == [], "its private directory was left behind"
    os.kill(os.getppid(), 0)  # our parent (the test runner's) is still alive ...
    os.kill(os.getpid(), 0)
    assert run_program("assert sum(range(5)) == 10\n").passed  # ... and the host carries on
