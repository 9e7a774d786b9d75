"""The store's marker and `agorabench cache --clear`: only a folder we made as a store is cleared, and only
the store's own entries in it; an older store without the marker is marked when listed."""

import json

from pytest_agorabench.cli import main
from pytest_agorabench.store import Store
from pytest_agorabench.store_folder import MARKER, is_store


def _build(workdir, key):
    (workdir / "rows.jsonl").write_text('{"a": 1}\n')


def test_a_new_store_is_marked(tmp_path):
    Store(tmp_path / "s")
    assert json.loads((tmp_path / "s" / MARKER).read_text())["created_by"] == "pytest-agorabench"


def test_a_folder_with_other_files_is_used_but_not_marked(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    Store(tmp_path).once("generation", {"n": 1}, _build)
    assert not is_store(tmp_path)


def test_clear_refuses_a_folder_that_is_not_a_store_and_deletes_nothing(tmp_path, capsys):
    folder = tmp_path / "project"
    (folder / "src").mkdir(parents=True)
    (folder / "src" / "main.py").write_text("print(1)")
    (folder / "notes.txt").write_text("mine")
    assert main(["cache", "--clear", "--store", str(folder)]) == 1
    err = capsys.readouterr().err
    assert f"--store: {folder} has no {MARKER} marker" in err and "nothing deleted" in err
    assert (folder / "src" / "main.py").read_text() == "print(1)" and (folder / "notes.txt").exists()


def test_clear_deletes_only_the_stores_entries_and_says_what(tmp_path, capsys):
    root = tmp_path / "s"
    Store(root).once("generation", {"n": 1}, _build)
    (root / "mine.txt").write_text("a note the user left here")
    (root / "runs" / "v7").mkdir(parents=True)  # a saved baseline: kept, as the user's own
    (root / "runs" / "v7" / "manifest.json").write_text("{}")
    assert main(["cache", "--dry-run", "--store", str(root)]) == 0
    assert "would delete artifacts: 2 file(s)" in capsys.readouterr().out and (root / "artifacts").exists()
    assert main(["cache", "--clear", "--store", str(root)]) == 0
    out = capsys.readouterr().out
    assert "deleted artifacts: 2 file(s)" in out and "kept runs, mine.txt (saved runs and files" in out
    assert sorted(p.name for p in root.iterdir()) == [MARKER, "mine.txt", "runs"]
    assert (root / "runs" / "v7" / "manifest.json").read_text() == "{}"


def test_clear_removes_a_store_with_nothing_else_in_it(tmp_path, capsys):
    root = tmp_path / "s"
    Store(root).once("generation", {"n": 1}, _build)
    assert main(["cache", "--clear", "--store", str(root)]) == 0
    assert not root.exists()


def test_an_old_store_is_refused_until_listed_then_cleared(tmp_path, capsys):
    root = tmp_path / "old"
    (root / "artifacts" / "generation").mkdir(parents=True)
    (root / "artifacts" / "generation" / "rows.jsonl").write_text("{}\n")
    (root / "report.json").write_text("{}")
    assert main(["cache", "--clear", "--store", str(root)]) == 1
    assert "list it once with 'agorabench cache --store" in capsys.readouterr().err
    assert (root / "report.json").exists()
    assert main(["cache", "--store", str(root)]) == 0  # lists it, and marks it: its top level is all store
    assert is_store(root)
    assert main(["cache", "--clear", "--store", str(root)]) == 0
    assert not root.exists()


def test_an_old_store_with_a_stranger_in_it_is_never_marked(tmp_path, capsys):
    root = tmp_path / "old"
    (root / "artifacts").mkdir(parents=True)
    (root / "thesis.tex").write_text("mine")
    assert main(["cache", "--store", str(root)]) == 0
    assert main(["cache", "--clear", "--store", str(root)]) == 1
    assert (root / "thesis.tex").exists() and (root / "artifacts").exists()


def test_a_missing_store_is_said_and_nothing_made(tmp_path, capsys):
    assert main(["cache", "--clear", "--store", str(tmp_path / "none")]) == 0
    assert "no store" in capsys.readouterr().out and not (tmp_path / "none").exists()


def test_cache_counts_unfinished_training_checkpoints_and_clear_takes_them(tmp_path, capsys):
    root = tmp_path / "s"
    store = Store(root)
    checkpoint = store.checkpoints_dir("training", "ab" * 32) / "checkpoint-10"
    checkpoint.mkdir(parents=True)
    (checkpoint / "optimizer.pt").write_bytes(b"x" * 2_000_000)
    assert store.unfinished_checkpoints() == [checkpoint.parent]
    assert main(["cache", "--store", str(root)]) == 0
    assert "1 unfinished training(s) with checkpoints, 2.0 MB: a rerun resumes them" in capsys.readouterr().out
    assert main(["cache", "--clear", "--store", str(root)]) == 0
    assert "deleted checkpoints: 1 file(s)" in capsys.readouterr().out and not root.exists()
