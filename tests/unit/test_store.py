import errno
import json
import multiprocessing as mp
import os
from pathlib import Path

import pytest

from pytest_agorabench.files import Journal, read_jsonl
from pytest_agorabench.store import Store, StoreError, content_key


def test_key_depends_on_every_input_and_not_on_order():
    a = content_key("training", {"rows": "abc", "recipe": {"lr": 1e-5, "epochs": 5}})
    b = content_key("training", {"recipe": {"epochs": 5, "lr": 1e-5}, "rows": "abc"})
    assert a == b
    assert a != content_key("training", {"rows": "abd", "recipe": {"lr": 1e-5, "epochs": 5}})
    assert a != content_key("evaluation", {"rows": "abc", "recipe": {"lr": 1e-5, "epochs": 5}})


def test_once_builds_then_serves_from_store(tmp_path):
    store = Store(tmp_path)
    calls = []

    def build(workdir: Path, key: str):
        calls.append(key)
        (workdir / "out.txt").write_text("hello")
        return {"note": 1}

    first = store.once("stage", {"x": 1}, build)
    second = store.once("stage", {"x": 1}, build)
    assert len(calls) == 1
    assert not first.cached and second.cached
    assert (second.path / "out.txt").read_text() == "hello"
    assert second.manifest["inputs"] == {"x": 1}
    assert second.manifest["note"] == 1
    assert "torch" in second.manifest["versions"]


def test_failed_build_leaves_nothing(tmp_path):
    store = Store(tmp_path)

    def build(workdir: Path, key: str):
        (workdir / "partial").write_text("half")
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        store.once("stage", {"x": 1}, build)
    assert store.get("stage", content_key("stage", {"x": 1})) is None
    assert not any((tmp_path / "tmp").iterdir())


def _worker(root: str, counter: str) -> None:
    store = Store(root)

    def build(workdir: Path, key: str):
        with open(counter, "a") as fh:
            fh.write("built\n")
        import time

        time.sleep(0.3)  # hold the lock long enough for the other process to contend
        (workdir / "v").write_text("1")

    store.once("shared", {"k": "same"}, build)


def test_concurrent_processes_compute_a_key_once(tmp_path):
    counter = tmp_path / "count.txt"
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_worker, args=(str(tmp_path / "store"), str(counter))) for _ in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    assert counter.read_text().count("built") == 1


def test_journal_resumes_without_duplicates_and_survives_torn_tail(tmp_path):
    path = tmp_path / "j.jsonl"
    j = Journal(path)
    assert j.append({"id": "a", "v": 1})
    assert j.append({"id": "b", "v": 2})
    assert not j.append({"id": "a", "v": 99})  # duplicate refused
    with open(path, "a") as fh:  # a kill in the middle of writing row c
        fh.write('{"id": "c", "v"')
    again = Journal(path)
    assert again.done_ids == {"a", "b"}
    assert again.append({"id": "c", "v": 3})
    assert [r["id"] for r in read_jsonl(path)] == ["a", "b", "c"]


def test_corrupt_middle_line_is_an_error(tmp_path):
    path = tmp_path / "j.jsonl"
    path.write_text('{"id": "a"}\nnot json\n{"id": "b"}\n')
    with pytest.raises(StoreError, match="line 2"):
        read_jsonl(path)


def test_disk_full_is_a_clear_error(tmp_path, monkeypatch):
    j = Journal(tmp_path / "j.jsonl")

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(StoreError, match="disk full"):
        j.append({"id": "a"})


def test_journal_removed_once_artifact_lands(tmp_path):
    store = Store(tmp_path)
    key = content_key("generation", {"n": 2})
    journal = store.journal("generation", key)
    journal.append({"id": "gen-0"})

    def build(workdir: Path, k: str):
        rows = store.journal("generation", k).rows
        (workdir / "rows.json").write_text(json.dumps(rows))

    art = store.once("generation", {"n": 2}, build)
    assert json.loads((art.path / "rows.json").read_text()) == [{"id": "gen-0"}]
    assert not journal.path.exists()


def test_a_journal_keyed_apart_from_its_artifact_moves_into_it_and_can_be_continued(tmp_path):
    store = Store(tmp_path)
    store.journal("generation", "per-instance").append({"id": "gen-0"})

    def build(workdir: Path, k: str):
        rows = store.journal("generation", "per-instance").rows
        (workdir / "rows.json").write_text(json.dumps(rows))

    art = store.once("generation", {"n": 1}, build, journal="per-instance")
    assert store.unfinished_journals() == []
    assert (art.path / "journal.jsonl").read_text() == '{"id": "gen-0"}\n'
    assert store.journal("generation", "per-instance").done_ids == {"gen-0"}  # a larger request continues


# ---------------------------------------------------------------- integrity: damage is never served


def _counting_build(calls: list, rows: int = 3):
    def build(workdir: Path, key: str):
        calls.append(key)
        (workdir / "rows.jsonl").write_text("".join(json.dumps({"id": i}) + "\n" for i in range(rows)))
        (workdir / "summary.json").write_text(json.dumps({"valid": rows}))
        return {"summary": {"valid": rows}}

    return build


@pytest.mark.parametrize(
    "damage",
    [
        lambda p: (p / "rows.jsonl").write_text((p / "rows.jsonl").read_text()[:-5]),  # torn last line
        lambda p: (p / "rows.jsonl").write_text((p / "rows.jsonl").read_text().rsplit("\n", 2)[0] + "\n"),  # a row gone
        lambda p: (p / "summary.json").write_text('{"valid": 3'),
        lambda p: (p / "summary.json").unlink(),
        lambda p: (p / "manifest.json").write_text((p / "manifest.json").read_text()[:40]),
        lambda p: (p / "rows.jsonl").write_text((p / "rows.jsonl").read_text().replace("2", "7")),  # same size
    ],
    ids=["torn-row", "missing-row", "truncated-json", "deleted-file", "truncated-manifest", "changed-bytes"],
)
def test_a_damaged_artifact_is_recomputed_not_served(tmp_path, damage):
    store, calls = Store(tmp_path), []
    first = store.once("generation", {"n": 3}, _counting_build(calls))
    damage(first.path)
    again = store.once("generation", {"n": 3}, _counting_build(calls))
    assert len(calls) == 2 and not again.cached and again.repaired
    assert again.read_jsonl("rows.jsonl") == [{"id": i} for i in range(3)]
    assert store.once("generation", {"n": 3}, _counting_build(calls)).cached  # now intact again
    (aside,) = (tmp_path / "damaged").iterdir()  # kept for a look, never served
    assert (aside / "DAMAGED.txt").read_text().strip() in again.repaired


def test_artifacts_written_before_inventories_are_served_and_still_checked(tmp_path):
    store, calls = Store(tmp_path), []
    art = store.once("generation", {"n": 3}, _counting_build(calls))
    manifest = json.loads((art.path / "manifest.json").read_text())
    del manifest["files"]  # as an older store wrote it
    (art.path / "manifest.json").write_text(json.dumps(manifest))
    assert store.once("generation", {"n": 3}, _counting_build(calls)).cached and len(calls) == 1
    (art.path / "rows.jsonl").write_text((art.path / "rows.jsonl").read_text()[:-3])
    assert not store.once("generation", {"n": 3}, _counting_build(calls)).cached and len(calls) == 2


def test_cache_verify_hashes_every_file(tmp_path, capsys):
    from pytest_agorabench.cli import main

    store = Store(tmp_path)
    art = store.once("training", {"n": 1}, _counting_build([]))
    assert main(["cache", "--store", str(tmp_path), "--verify"]) == 0
    (art.path / "rows.jsonl").write_text((art.path / "rows.jsonl").read_text().replace("1", "9"))
    assert main(["cache", "--store", str(tmp_path), "--verify"]) == 1
    assert "damaged: training/" in capsys.readouterr().out


def test_leftovers_of_a_killed_build_are_cleared_before_the_key_is_built_again(tmp_path):
    store = Store(tmp_path)
    key = content_key("evaluation", {"n": 1})
    stale_tmp = tmp_path / "tmp" / f"evaluation-{key}-999999"
    stale_tmp.mkdir(parents=True)
    partial_log = store.log_dir("evaluation", key) / "2026-partial.eval"
    partial_log.parent.mkdir(parents=True)
    partial_log.write_text("torn")

    def build(workdir: Path, k: str):
        assert not partial_log.exists()  # the new run's logs start clean
        (store.log_dir("evaluation", k) / "new.eval").parent.mkdir(parents=True, exist_ok=True)
        (store.log_dir("evaluation", k) / "new.eval").write_text("whole")

    store.once("evaluation", {"n": 1}, build)
    assert not stale_tmp.exists() and list((tmp_path / "tmp").iterdir()) == []
    assert [p.name for p in store.log_dir("evaluation", key).iterdir()] == ["new.eval"]


def test_a_key_computed_by_another_worker_is_reported_as_waited_for_not_cached(tmp_path, monkeypatch):
    import threading

    import pytest_agorabench.store as store_module

    store = Store(tmp_path)
    inputs = {"n": 1}
    key = content_key("training", inputs)
    blocked = threading.Event()
    real_try = store_module._try_acquire

    def try_acquire(lock):
        got = real_try(lock)
        if not got:
            blocked.set()  # the other worker now waits on the lock
        return got

    monkeypatch.setattr(store_module, "_try_acquire", try_acquire)
    holder = store.lock("training", key)
    holder.acquire()
    result = {}
    worker = threading.Thread(target=lambda: result.update(art=store.once("training", inputs, _counting_build([]))))
    worker.start()
    assert blocked.wait(timeout=60)
    tmp = tmp_path / "tmp" / "by-the-first-worker"
    tmp.mkdir(parents=True)
    _counting_build([])(tmp, key)
    store._commit("training", key, inputs, tmp, 0.0, {}, key)  # the first worker finishes the artifact
    holder.release()
    worker.join(timeout=60)
    art = result["art"]
    assert art.cached and art.waited


def test_temp_dirs_of_killed_builds_are_swept_but_not_those_being_built(tmp_path):
    store = Store(tmp_path)
    dead = tmp_path / "tmp" / f"training-{'a' * 64}-4242"
    busy = tmp_path / "tmp" / f"training-{'b' * 64}-4343"
    dead.mkdir(parents=True)
    busy.mkdir(parents=True)
    builder = store.lock("training", "b" * 64)
    builder.acquire()  # another process is building key b
    try:
        Store(tmp_path)
    finally:
        builder.release()
    assert not dead.exists() and busy.exists()
