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
