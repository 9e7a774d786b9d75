"""One real run of the three math cases per test session; other end-to-end tests start from a copy of its
store, so the stages they do not exercise (tiny student, gold reference, baselines) are served from it."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .runs import SCRIPT, SUITE

# The intrinsic stage's diversity metric embeds with a deterministic hashed embedder in these runs, so the
# tests do not fetch MiniLM (83 MB) from the package registry; tests/unit/intrinsic covers MiniLM (opt-in).
os.environ.setdefault("AGORABENCH_EMBEDDER", "hashed")
os.environ.setdefault("AGORABENCH_SMOKE_REWARD_STEPS", "4")  # the reward stage runs; its quality is tested in unit


@pytest.fixture(scope="session")
def math_run(tmp_path_factory):
    """The three math cases with the correct scripted generator, in a fresh store (a subprocess: pytester's
    fixture is function-scoped). xdist workers share one run: the first computes it under a lock."""
    from filelock import FileLock

    base = tmp_path_factory.getbasetemp()
    root = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "math_run"
    root.mkdir(exist_ok=True)
    with FileLock(str(root) + ".lock"):
        return _math_run(root)


def _math_run(root: Path) -> dict:
    store, report, junit = root / "store", root / "report.json", root / "junit.xml"
    inner = root / "inner"
    done = root / "done.json"
    if done.exists():
        return {**_paths(json.loads(done.read_text())), "inner": inner}
    inner.mkdir(exist_ok=True)
    shutil.copy(SUITE, inner / "test_math.py")
    cmd = [
        sys.executable, "-m", "pytest", "-p", "no:cacheprovider", str(inner / "test_math.py"),
        f"--generator=agora-script/{SCRIPT}:arithmetic", f"--judge=agora-script/{SCRIPT}:grader",
        f"--agora-store={store}", f"--agora-json={report}",
        f"--junitxml={junit}", f"--rootdir={inner}",
        "--instances=4",  # the machinery at a fixed size, as in runs.run_suite
    ]
    proc = subprocess.run(cmd, cwd=inner, capture_output=True, text=True, timeout=900)
    run = {"returncode": proc.returncode, "stdout": proc.stdout, "stderr": proc.stderr, "cmd": cmd,
           "store": str(store), "report": str(report), "junit": str(junit)}
    done.write_text(json.dumps(run))
    return {**_paths(run), "inner": inner}


def _paths(run: dict) -> dict:
    return {k: Path(v) if k in ("store", "report", "junit") else v for k, v in run.items()}


@pytest.fixture
def store_copy(math_run, tmp_path):
    """A copy of the session run's store without its generation artifacts and journals."""
    store = tmp_path / "store"
    shutil.copytree(math_run["store"], store, ignore=shutil.ignore_patterns("report.json"))
    for part in ("artifacts/generation", "journals", "locks"):
        shutil.rmtree(store / part, ignore_errors=True)
    return store
