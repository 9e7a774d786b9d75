"""A two-node Slurm of our own on this one machine for the `slurm` tier: munged, slurmctld and one slurmd per
node (Debian's packages; two slurmd on one host, each with its own port and spool) on free ports with a config
in a temp dir, started once per session and stopped at its end.

Each slurmd runs as PID 1 of its own PID namespace (`unshare --pid --mount-proc`): a job's `ray stop` on a node
then sees only that node's Ray, never another user's Ray on a shared machine, and stopping a slurmd ends every
process its jobs left behind (the kernel kills a namespace with its first process)."""

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

ENABLE_ENV = "AGORABENCH_SLURM_TEST"
NOT_ENABLED = (
    f"starts a two-node Slurm on this machine (munged, slurmctld, slurmd) as root: set {ENABLE_ENV}=1 "
    "(apt-get install --no-install-recommends slurmctld slurmd slurm-client munge)"
)
PROGRAMS = ("munged", "slurmctld", "slurmd", "sbatch", "scontrol", "srun", "sinfo", "unshare")
START_DEADLINE_S = 60
NODES = ("n1", "n2")
GPUS = 2  # per node
# Slurm 22.05 counts no GPU from a count-only gres.conf line (the node then drains: "gres/gpu count reported
# lower than configured (0 < 2)"); two character devices every machine has stand in for the device files.
GPU_FILES = "/dev/null,/dev/zero"

CONF = """\
ClusterName=agoratest
SlurmctldHost={host}(127.0.0.1)
SlurmctldPort={ctld_port}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
# cred_expire also sets how long a requeued job waits before it may start again (120 s by default).
AuthInfo=socket={root}/munge/munge.sock,cred_expire=5
CredType=cred/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SwitchType=switch/none
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/builtin
SchedulerParameters=sched_interval=1
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
GresTypes=gpu
StateSaveLocation={root}/state
SlurmdSpoolDir={root}/spool-%n
SlurmctldPidFile={root}/slurmctld.pid
SlurmdPidFile={root}/slurmd-%n.pid
SlurmctldLogFile={root}/log/slurmctld.log
SlurmdLogFile={root}/log/slurmd-%n.log
ReturnToService=2
{nodes}
PartitionName=debug Nodes={names} Default=YES MaxTime=INFINITE State=UP
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Slurm:
    """The running daemons and the environment that points Slurm's clients at them."""

    def __init__(self, root: Path):
        self.root = root
        self.conf = root / "slurm.conf"
        self.env = {**os.environ, "SLURM_CONF": str(self.conf)}
        self.procs: list[subprocess.Popen] = []

    def log_tail(self, name: str, lines: int = 20) -> str:
        path = self.root / "log" / name
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""

    def start(self) -> None:
        root = self.root
        root.chmod(0o755)  # mkdtemp's 0700 would hide munge's socket from the jobs' clients; munged checks this
        for sub in ("key", "munge", "state", "log", *(f"spool-{n}" for n in NODES)):
            (root / sub).mkdir()
        (root / "key").chmod(0o700)
        (root / "munge").chmod(0o755)  # munged refuses a socket folder that others cannot traverse
        key = root / "key" / "munge.key"
        key.write_bytes(os.urandom(128))
        key.chmod(0o600)
        host = socket.gethostname().split(".")[0]
        # Each node gets one CPU so that the two together do not claim more than this machine has.
        nodes = "\n".join(f"NodeName={n} NodeHostname={host} NodeAddr=127.0.0.1 Port={free_port()} CPUs=1 "
                           f"Gres=gpu:{GPUS} State=UNKNOWN" for n in NODES)
        self.conf.write_text(CONF.format(host=host, root=root, ctld_port=free_port(), nodes=nodes,
                                         names=",".join(NODES)))
        (root / "gres.conf").write_text(f"NodeName={','.join(NODES)} Name=gpu File={GPU_FILES}\n")

        # munged forks into the background only once it is ready, so this returns when munge works.
        subprocess.run(["munged", f"--socket={root}/munge/munge.sock", f"--key-file={key}",
                        f"--pid-file={root}/munge/munged.pid", f"--log-file={root}/log/munged.log",
                        f"--seed-file={root}/munge/seed"], check=True, capture_output=True, text=True, timeout=30)
        self._spawn(["slurmctld", "-D", "-f", str(self.conf)], "slurmctld.out")
        for node in NODES:
            self._spawn(["unshare", "--pid", "--fork", "--mount-proc", "--kill-child",
                         "slurmd", "-D", "-N", node, "-f", str(self.conf)], f"slurmd-{node}.out")
        # The daemons have no readiness signal here: ask until every node is idle or the deadline passes, so
        # a node Slurm refused (drained, invalid) is reported now instead of leaving a job pending forever.
        deadline = time.monotonic() + START_DEADLINE_S
        state = ""
        while state != "idle":
            if time.monotonic() > deadline or any(p.poll() is not None for p in self.procs):
                raise RuntimeError(f"the nodes are not idle within {START_DEADLINE_S} s (states {state!r}):\n"
                                   f"{self.log_tail('slurmctld.log')}\n{self.log_tail('slurmd-n1.log')}")
            time.sleep(0.2)
            shown = subprocess.run(["sinfo", "--noheader", "--format=%t %D"], env=self.env, capture_output=True,
                                   text=True, timeout=30)
            state = shown.stdout.strip() if shown.returncode == 0 else ""
            state = "idle" if state == f"idle {len(NODES)}" else state

    def _spawn(self, cmd: list[str], log: str) -> None:
        with open(self.root / "log" / log, "w") as out:
            self.procs.append(subprocess.Popen(cmd, env=self.env, stdout=out, stderr=subprocess.STDOUT))

    def stop(self) -> None:
        # The slurmd namespaces first: unshare ignores SIGTERM, and SIGKILL to it kills slurmd (--kill-child),
        # the namespace's first process, and with it every process the jobs left.
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL if proc.args[0] == "unshare" else signal.SIGTERM)
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        if (self.root / "munge" / "munge.sock").exists():
            subprocess.run(["munged", "--stop", f"--socket={self.root}/munge/munge.sock"],
                           capture_output=True, timeout=30)


@pytest.fixture(scope="session")
def slurm():
    if os.environ.get(ENABLE_ENV) != "1":
        pytest.skip(NOT_ENABLED)
    missing = [p for p in PROGRAMS if shutil.which(p) is None]
    if missing:
        pytest.skip(f"{', '.join(missing)} not found: {NOT_ENABLED}")
    if os.geteuid() != 0:
        pytest.skip("the daemons of this Slurm run as root")
    # A short path: Ray's unix sockets live under the job's temp dir and must stay under 108 bytes.
    root = Path(tempfile.mkdtemp(prefix="agsl", dir="/tmp"))
    cluster = Slurm(root)
    try:
        cluster.start()
    except (RuntimeError, subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as err:
        cluster.stop()
        detail = getattr(err, "stderr", "") or ""
        shutil.rmtree(root, ignore_errors=True)
        pytest.skip(f"the Slurm of this tier did not start: {err} {detail}".strip())
    yield cluster
    cluster.stop()
    shutil.rmtree(root, ignore_errors=True)
