import json
import textwrap

import pytest

from pytest_agorabench.serving.cpu_share import SHARE_MARK, share_cpus, threads_per_worker
from pytest_agorabench.serving.vllm_launch import Launch


@pytest.mark.parametrize("workers, cpus, threads", [(2, 2, 1), (2, 16, 8), (3, 16, 5), (4, 2, 1)])
def test_each_worker_gets_its_share_of_the_cores(workers, cpus, threads):
    env: dict[str, str] = {}
    assert share_cpus(workers, env, cpus=cpus) == threads_per_worker(workers, cpus) == threads
    assert env == {"OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads), SHARE_MARK: str(threads)}


def test_a_single_process_and_a_users_own_setting_are_left_alone():
    env: dict[str, str] = {}
    assert share_cpus(1, env, cpus=8) is None and env == {}
    env = {"OMP_NUM_THREADS": "3"}
    assert share_cpus(2, env, cpus=8) is None and env == {"OMP_NUM_THREADS": "3"}


def test_a_session_wide_model_server_gets_the_machines_threads_back():
    cpu = Launch("/py", "org/m", "org/m@1", 8000, ())
    env = {"PATH": "/bin"}
    share_cpus(2, env, cpus=8)
    served = cpu.environment(env)
    assert "OMP_NUM_THREADS" not in served and "MKL_NUM_THREADS" not in served and served["PATH"] == "/bin"
    users = {"PATH": "/bin", "OMP_NUM_THREADS": "3"}  # a user's own limit is theirs to keep
    assert cpu.environment(users)["OMP_NUM_THREADS"] == "3"


PROBE = textwrap.dedent(
    '''
    import json, os, subprocess, sys
    import torch

    def test_threads(tmp_path_factory):
        child = subprocess.run([sys.executable, "-c", "import torch; print(torch.get_num_threads())"],
                               capture_output=True, text=True, env=os.environ.copy()).stdout.strip()
        out = os.path.join(os.environ["PROBE_DIR"], os.environ.get("PYTEST_XDIST_WORKER", "main") + ".json")
        with open(out, "w") as fh:
            json.dump({"self": torch.get_num_threads(), "child": int(child)}, fh)
    '''
)


def test_xdist_workers_without_gpus_share_the_cores(pytester, tmp_path, monkeypatch):
    """Two workers on this machine: each (and its subprocess) runs torch with cores // 2 threads, not all of
    them, and the header says so."""
    from pytest_agorabench.serving.cpu_share import available_cpus

    pytester.makepyfile(test_a=PROBE, test_b=PROBE.replace("test_threads", "test_threads_b"))
    monkeypatch.setenv("PROBE_DIR", str(tmp_path))
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "CUDA_VISIBLE_DEVICES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")  # no GPUs, even on a GPU machine
    result = pytester.runpytest_subprocess("-n", "2", "--dist=loadfile", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
    share = max(1, available_cpus() // 2)
    result.stdout.fnmatch_lines([f"*agorabench CPU: {share} torch thread(s) per worker*"])
    seen = {p.stem: json.loads(p.read_text()) for p in tmp_path.glob("gw*.json")}
    assert seen == {"gw0": {"self": share, "child": share}, "gw1": {"self": share, "child": share}}
