"""The start-up proof that every node shares one store with locks that hold across nodes (shared_store.py):
another process stands in for another node, with its own host id."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_agorabench.path_options import ConfigError
from pytest_agorabench.shared_store import ACQUIRED, BLOCKED, NOT_TRIED, SHARED, hold_probe, judge, look, mount_of
from pytest_agorabench.store import Store, probe_files

ROOT = Path(__file__).resolve().parents[2]


def _look_from_another_node(host, root, session, token):
    code = (
        "import json, sys; from pytest_agorabench.shared_store import look\n"
        "print(json.dumps(look(sys.argv[1], sys.argv[2], sys.argv[3])))\n"
    )
    env = {**os.environ, "AGORABENCH_HOST_ID": host, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", code, str(root), session, token], capture_output=True, text=True, env=env, timeout=120,
        check=True,
    )
    return json.loads(out.stdout)


def test_a_node_sharing_the_store_is_blocked_by_the_controllers_lock_and_sees_its_token(tmp_path, monkeypatch):
    monkeypatch.setenv("AGORABENCH_HOST_ID", "node-a")
    store = Store(tmp_path / "store")
    with hold_probe(store.root, "s1") as probe:
        node = _look_from_another_node("node-b", store.root, "s1", probe.token)
        assert (node["host"], node["path"], node["token_seen"], node["lock"]) == ("node-b", str(store.root), True, BLOCKED)
        summary = judge(probe, [node])
    mount = mount_of(store.root)
    assert summary["controller"] == "node-a" and summary["path"] == str(store.root)
    assert summary["nodes"]["node-b"]["verdict"] == SHARED
    assert summary["nodes"]["node-b"]["fs"] == mount.fs and summary["nodes"]["node-b"]["options"] == list(mount.options)
    assert summary["nodes"]["node-b"]["inode"] == store.root.stat().st_ino
    assert not any(p.exists() for p in probe_files(store.root, "s1"))  # the probe's files are ours: removed


def test_a_node_seeing_another_folder_is_refused_and_nothing_is_written_there(tmp_path, monkeypatch):
    monkeypatch.setenv("AGORABENCH_HOST_ID", "node-a")
    store = Store(tmp_path / "store")
    copy = tmp_path / "copy"
    shutil.copytree(store.root, copy)  # what a node with a local folder of the same name would see
    with hold_probe(store.root, "s1") as probe:
        node = _look_from_another_node("node-c", copy, "s1", probe.token)
        assert (node["token_seen"], node["lock"]) == (False, NOT_TRIED)
        with pytest.raises(ConfigError) as err:
            judge(probe, [node])
    assert f"node node-c sees a different folder at {copy}: the store must be one shared POSIX path on every node" in str(err.value)
    assert not (copy / "locks").exists()


def test_a_lock_that_did_not_block_another_node_is_refused_naming_both_hosts_and_the_fs(tmp_path, monkeypatch):
    monkeypatch.setenv("AGORABENCH_HOST_ID", "node-a")
    with hold_probe(tmp_path, "s1") as probe:
        node = {**look(tmp_path, "s1", probe.token), "host": "node-b", "fs": "lustre", "lock": ACQUIRED}
        with pytest.raises(ConfigError, match=r"a lock taken on node-a did not block node-b on lustre: the filesystem's "
                                              r"locks are local to each node .* Lustre: -o flock"):
            judge(probe, [node])


def test_one_host_id_on_two_machines_is_refused_and_on_one_machine_accepted(tmp_path):
    with hold_probe(tmp_path, "s1") as probe:
        node = look(tmp_path, "s1", probe.token)
        assert node["lock"] == BLOCKED  # another open of the lock file, even in this process
        assert node["machine"]  # this machine's boot id
        assert set(judge(probe, [node, node])["nodes"]) == {node["host"]}  # two Ray nodes on one machine
        elsewhere = {**node, "machine": "another-boot-id"}
        with pytest.raises(ConfigError, match=f"different machines run as host {node['host']}: set AGORABENCH_HOST_ID"):
            judge(probe, [node, elsewhere])


MOUNTS = "\n".join([
    "/dev/sda1 / ext4 rw,relatime 0 0",
    "fileserver:/export /shared nfs4 rw,vers=4.2,hard,nolock,local_lock=all 0 0",
    "fileserver:/export2 /shared-ok nfs4 rw,vers=4.2,hard,local_lock=none 0 0",
    "10.0.0.1@tcp:/lfs /lustre lustre rw,localflock 0 0",
    "10.0.0.1@tcp:/lfs2 /lustre/proj\\040x lustre rw,flock 0 0",
])


@pytest.mark.parametrize(("path", "fs", "refused"), [
    ("/shared/store", "nfs4", "nolock (NFS without the lock manager), local_lock=all (NFS with every lock kept local)"),
    ("/shared-ok/store", "nfs4", None),  # not under /shared: a longer point that only shares its prefix
    ("/lustre/store", "lustre", "localflock (Lustre with flock kept local)"),
    ("/lustre/proj x/store", "lustre", None),  # the nested mount with flock wins, its escaped space read back
    ("/home/me/store", "ext4", None),
])
def test_mount_options_that_keep_locks_on_one_node_are_refused_before_probing(tmp_path, path, fs, refused):
    mount = mount_of(Path(path), MOUNTS)
    assert mount.fs == fs
    with hold_probe(tmp_path, "s1") as probe:
        node = {**look(tmp_path, "s1", probe.token), "host": "node-b", "path": path, "fs": mount.fs,
                "options": list(mount.options)}
        if refused is None:
            assert judge(probe, [node])["nodes"]["node-b"]["verdict"] == SHARED
        else:
            with pytest.raises(ConfigError) as err:
                judge(probe, [node])
            assert str(err.value).startswith(f"the store {path} is mounted on node-b as {fs} with {refused}: its locks "
                                             f"would hold on that node only")


def test_the_controller_refuses_a_store_mounted_with_local_locks_before_writing_anything(tmp_path, monkeypatch):
    mounts = tmp_path / "mounts"
    store = tmp_path / "store"
    mounts.write_text(f"fileserver:/export {store} nfs rw,nolock 0 0\n/dev/sda1 / ext4 rw 0 0\n")
    monkeypatch.setattr("pytest_agorabench.shared_store.MOUNTS", mounts)
    with pytest.raises(ConfigError, match=f"the store {store} is mounted on .* as nfs with nolock"):
        hold_probe(store, "s1")
    assert not store.exists()
