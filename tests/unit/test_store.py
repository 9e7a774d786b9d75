import errno
import json
import multiprocessing as mp
import os
from pathlib import Path

import pytest

from pytest_agorabench.files import Journal, atomic_temp, read_jsonl
from pytest_agorabench.store import Store, StoreError, content_key
from pytest_agorabench.store_folder import foreign_entries


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


def _edit_manifest(path: Path, edit) -> None:
    manifest = json.loads((path / "manifest.json").read_text())
    (path / "manifest.json").write_text(json.dumps(edit(manifest)))


def _flip_a_digit(path: Path) -> None:
    """One row changed, the file's size the same: only a hash finds it."""
    (path / "rows.jsonl").write_text((path / "rows.jsonl").read_text().replace("2", "7"))


@pytest.mark.parametrize(
    "damage",
    [
        lambda p: (p / "rows.jsonl").write_text((p / "rows.jsonl").read_text()[:-5]),  # torn last line
        lambda p: (p / "rows.jsonl").write_text((p / "rows.jsonl").read_text().rsplit("\n", 2)[0] + "\n"),  # a row gone
        lambda p: (p / "summary.json").write_text('{"valid": 3'),
        lambda p: (p / "summary.json").unlink(),
        lambda p: (p / "manifest.json").write_text((p / "manifest.json").read_text()[:40]),
        _flip_a_digit,
        lambda p: ((p / "manifest.json").write_text("{}"), _flip_a_digit(p)),  # issue 24
        lambda p: _edit_manifest(p, lambda m: {**m, "files": {"rows.jsonl": 5}}),
        lambda p: _edit_manifest(p, lambda m: {**m, "key": "0" * 64}),
    ],
    ids=["torn-row", "missing-row", "truncated-json", "deleted-file", "truncated-manifest", "changed-bytes",
         "empty-manifest", "malformed-inventory", "manifest-of-another-artifact"],
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


# ---------------------------------------------------------------- manifests written before inventories

TRAINING_V1 = {"version": 1, "n": 3}  # the training stage's version before inventories


def _older(store: Store, stage: str, inputs: dict, extra: dict, calls: list, edit=lambda m: m):
    """An artifact whose manifest is what the store wrote before inventories (9e2149a's ``_commit``), after
    ``edit``: the six fields, the build's one field, no file list."""
    art = store.once(stage, inputs, _counting_build(calls))
    older = {
        "stage": stage, "key": art.key, "inputs": inputs, "started": 1764806400.0, "seconds": 2.5,
        "versions": {"python": "3.11.9", "pytest-agorabench": "0.1.0", "torch": "2.5.1", "transformers": "4.46.3",
                     "trl": "0.12.1", "inspect-ai": "0.3.52", "datasets": "3.1.0"},
        **extra,
    }
    (art.path / "manifest.json").write_text(json.dumps(edit(older)))
    return art


def test_a_genuine_older_manifest_is_served_unchecked_says_so_and_is_still_parsed(tmp_path):
    from pytest_agorabench.pipeline.keys import Clock

    store, calls, clock = Store(tmp_path), [], Clock()
    art = _older(store, "training", TRAINING_V1, {"stats": {"loss": 0.5}}, calls)
    served = clock.run("training", lambda: store.once("training", TRAINING_V1, _counting_build(calls)))
    assert served.cached and served.unchecked and len(calls) == 1
    assert clock.notes == ["training: served unchecked: its manifest predates inventories, so only its JSON was "
                           "parsed ('agorabench cache --verify --upgrade' gives it an inventory)"]
    (art.path / "rows.jsonl").write_text((art.path / "rows.jsonl").read_text()[:-3])  # a torn row still shows
    again = store.once("training", TRAINING_V1, _counting_build(calls))
    assert not again.cached and not again.unchecked and len(calls) == 2


@pytest.mark.parametrize(
    "stage, inputs, extra, edit",
    [
        ("training", TRAINING_V1, {"stats": {}}, lambda m: {}),
        ("training", TRAINING_V1, {"stats": {}}, lambda m: {**m, "note": "hand-written"}),  # an unknown field
        ("training", TRAINING_V1, {"stats": {}}, lambda m: {k: v for k, v in m.items() if k != "seconds"}),
        ("training", TRAINING_V1, {"items": 3}, lambda m: m),  # evaluation's field on a training artifact
        ("evaluation", {"version": 2, "n": 3}, {"items": 3}, lambda m: m),  # v2 came with inventories
        ("training", TRAINING_V1, {"stats": {}}, lambda m: {**m, "inputs": {"version": 1, "n": 4}}),
        ("training", TRAINING_V1, {"stats": {}}, lambda m: {**m, "versions": {}}),
        ("judging", {"version": 1}, {"stats": {}}, lambda m: m),  # no such stage wrote manifests
    ],
    ids=["empty", "unknown-field", "missing-field", "another-stage's-field", "stage-version-2",
         "inputs-of-another-key", "no-package-versions", "unknown-stage"],
)
def test_a_manifest_without_inventory_of_any_other_shape_is_damage(tmp_path, stage, inputs, extra, edit):
    store, calls = Store(tmp_path), []
    art = _older(store, stage, inputs, extra, calls, edit)
    _flip_a_digit(art.path)  # served unchecked, this change would reach the figures
    again = store.once(stage, inputs, _counting_build(calls))
    assert not again.cached and len(calls) == 2
    assert "manifest.json has no inventory and is not a manifest written before inventories" in again.repaired
    assert again.read_jsonl("rows.jsonl") == [{"id": i} for i in range(3)]


def test_cache_verify_reports_what_it_cannot_verify_and_upgrade_gives_older_artifacts_an_inventory(tmp_path, capsys):
    from pytest_agorabench.cli import main

    store, calls = Store(tmp_path), []
    store.once("training", {"version": 1, "n": 1}, _counting_build(calls))  # written with its inventory
    older = _older(store, "training", TRAINING_V1, {"stats": {}}, calls)
    empty = _older(store, "training", {"version": 1, "n": 5}, {"stats": {}}, calls, edit=lambda m: {})
    verify = ["cache", "--store", str(tmp_path), "--verify"]
    assert main(verify) == 1
    out = capsys.readouterr().out
    assert f"damaged: training/{empty.key}: manifest.json has no inventory" in out
    assert f"unverifiable: training/{older.key}: written before inventories" in out
    assert "1 verified, 1 damaged, 1 unverifiable artifact(s)\n" in out

    assert main([*verify, "--upgrade"]) == 1  # the damaged one is still damaged: left as it is
    out = capsys.readouterr().out
    assert f"upgraded: training/{older.key}" in out and "1 verified, 1 damaged, 0 unverifiable" in out
    assert (empty.path / "manifest.json").read_text() == "{}"
    manifest = json.loads((older.path / "manifest.json").read_text())
    assert set(manifest["files"]) == {"rows.jsonl", "summary.json"} and manifest["inventory_added"] > 0
    served = store.once("training", TRAINING_V1, _counting_build(calls))
    assert served.cached and not served.unchecked
    _flip_a_digit(older.path)  # what its inventory now catches
    assert main(verify) == 1
    assert f"damaged: training/{older.key}: rows.jsonl changed" in capsys.readouterr().out


def test_upgrade_writes_nothing_in_a_folder_that_is_not_our_store(tmp_path, capsys):
    from pytest_agorabench.cli import main

    older = _older(Store(tmp_path), "training", TRAINING_V1, {"stats": {}}, [])
    (tmp_path / ".agorabench-store").unlink()
    (tmp_path / "mine.txt").write_text("a user's file: the folder is not re-marked")
    before = (older.path / "manifest.json").read_text()
    assert main(["cache", "--store", str(tmp_path), "--verify", "--upgrade"]) == 1
    out, err = capsys.readouterr()
    assert out == "" and "--upgrade" in err and "nothing written" in err and "Traceback" not in err
    assert (older.path / "manifest.json").read_text() == before


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


def test_names_by_host_carry_the_host_id_so_two_nodes_with_one_pid_never_collide(tmp_path, monkeypatch):
    monkeypatch.setenv("AGORABENCH_HOST_ID", "node-b")
    store = Store(tmp_path)
    seen = []
    store.once("stage", {"x": 1}, lambda workdir, key: seen.append(workdir.name))
    assert seen == [f"stage-{content_key('stage', {'x': 1})}-node-b-{os.getpid()}"]
    assert store.servers_dir() == tmp_path / "servers" / "node-b"
    assert atomic_temp(tmp_path / "report.json").name == f".report.json.node-b.{os.getpid()}.tmp"
    atomic_temp(tmp_path / "report.json").write_text("{")  # left by a killed node: still known as ours
    assert foreign_entries(tmp_path) == []


def test_the_sweep_reads_host_ids_with_dashes_and_older_names_and_leaves_other_names(tmp_path):
    store = Store(tmp_path)
    dead_new = tmp_path / "tmp" / f"training-{'a' * 64}-node-b-7-4242"
    dead_old = tmp_path / "tmp" / f"evaluation-{'c' * 64}-4242"
    busy = tmp_path / "tmp" / f"training-{'b' * 64}-gpu-node-3-4343"
    foreign = tmp_path / "tmp" / "a-user-folder"
    for folder in (dead_new, dead_old, busy, foreign):
        folder.mkdir(parents=True)
    builder = store.lock("training", "b" * 64)
    builder.acquire()  # another node is building key b
    try:
        Store(tmp_path)
    finally:
        builder.release()
    assert not dead_new.exists() and not dead_old.exists()
    assert busy.exists() and foreign.exists()
