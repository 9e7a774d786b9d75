"""The package as a user gets it: a built wheel installed into a fresh venv outside the checkout, with no
checkout on the path, runs a smoke case from the user's own test and collects our nine suites with --pyargs.

Tier `wheel` (minutes: it installs our dependencies from the package registry): runs where
AGORABENCH_WHEEL_TEST=1, which .ci/run sets."""

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.wheel

REPO = Path(__file__).resolve().parents[2]

USER_TEST = '''
import pytest_agorabench


def test_our_generator_on_smoke(agorabench):
    # The installed package, not a checkout: offline data comes from the wheel's package data.
    assert "site-packages" in pytest_agorabench.__file__
    result = agorabench.case("math/response_generation")
    assert result.instances_requested > 0
    assert {b.name for b in result.benchmarks} == {"gsm8k", "math"}
'''


def _run(cmd: list, cwd: Path, timeout: int) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    proc = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{' '.join(map(str, cmd))} exited {proc.returncode}:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    return proc


def test_the_wheel_runs_a_smoke_case_outside_the_checkout(tmp_path):
    dist = tmp_path / "dist"
    _run([sys.executable, "-m", "pip", "wheel", REPO, "--no-deps", "--quiet", "-w", dist], tmp_path, 600)
    (wheel,) = dist.glob("pytest_agorabench-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "pytest_agorabench/_fixtures/seeds/math/response_generation.jsonl" in names
    assert "pytest_agorabench/_fixtures/paper/table2_pgr.csv" in names
    assert {f"pytest_agorabench/suites/{f}" for f in ("__init__.py", "test_math.py", "test_code.py")} <= names
    assert "pytest_agorabench/report/templates/report.html.j2" in names
    assert "pytest_agorabench/cluster/slurm/agorabench-ray.sbatch" in names  # the Slurm recipe ships with us

    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", venv], tmp_path, 300)
    python = venv / "bin" / "python"
    _run([python, "-m", "pip", "install", "--quiet", "torch==2.13.0", wheel], tmp_path, 1200)

    user_repo = tmp_path / "user_repo"
    user_repo.mkdir()
    (user_repo / "test_our_generator.py").write_text(USER_TEST)
    collected = _run([python, "-m", "pytest", "--pyargs", "pytest_agorabench.suites", "--collect-only", "-q"],
                     user_repo, 300)
    assert "9 tests collected" in collected.stdout, collected.stdout
    ran = _run([python, "-m", "pytest", "test_our_generator.py", "-p", "no:cacheprovider"], user_repo, 1500)
    assert "1 passed" in ran.stdout
    assert (user_repo / ".agorabench" / "report.json").is_file()  # the store sits in the user's rootdir
    assert "<table" in (user_repo / ".agorabench" / "report.html").read_text()  # the template travelled
