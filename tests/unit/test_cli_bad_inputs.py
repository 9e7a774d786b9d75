"""Every `agorabench` subcommand and every one of its arguments, given a bad value: one line on stderr naming
the argument, the documented exit status, no traceback, and nothing written or deleted in the folder."""

import json
import os
from pathlib import Path

import pytest

from pytest_agorabench.cli import main


def _listing(root: Path) -> dict[str, tuple[int, str]]:
    """Every path under root with its size and content hash: what a command must leave as it found it."""
    out = {}
    for path in sorted(root.rglob("*")):
        out[str(path.relative_to(root))] = (path.stat().st_size, path.read_bytes().hex() if path.is_file() else "")
    return out


@pytest.fixture
def place(tmp_path, monkeypatch):
    """A working folder with one of each kind of bad input, the command running inside it."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "corrupt.json").write_text("{")
    (tmp_path / "binary.json").write_bytes(bytes(range(256)))
    (tmp_path / "empty.json").write_text("{}")
    (tmp_path / "a_file").write_text("not a folder")
    (tmp_path / "a_folder").mkdir()
    (tmp_path / "a_folder" / "keep.txt").write_text("mine")
    for name in ("base", "run"):  # well-formed saved runs with no case
        (tmp_path / name / "cases").mkdir(parents=True)
    return tmp_path


# (argv, the argument's name in the message, exit status)
CASES = [
    # report
    (["report", "missing.json"], "reports", 2),
    (["report", "a_folder"], "reports", 2),
    (["report", "corrupt.json"], "corrupt.json is not JSON", 1),
    (["report", "binary.json"], "binary.json is not UTF-8", 1),
    (["report", "empty.json"], "empty.json is not a pytest-agorabench report", 1),
    (["report", "empty.json", "-o", "a_folder"], "--output", 1),
    (["report", "empty.json", "--html", "a_file/page.html"], "--html", 1),
    (["report", "empty.json", "--md", "a_folder"], "--md", 1),
    # compare
    (["compare", "missing", "run"], "baseline", 2),
    (["compare", "base", "a_file"], "run", 2),
    (["compare", "base", "run", "--max-drop", "nan"], "--max-drop", 2),
    (["compare", "base", "run", "--max-drop", "-5"], "--max-drop", 2),
    (["compare", "base", "run", "--max-drop", "inf"], "--max-drop", 2),
    (["compare", "base", "run", "--max-failures", "5"], "--max-failures", 2),
    (["compare", "base", "run", "--max-failures", "half"], "--max-failures", 2),
    (["compare", "base", "run", "--resamples", "0"], "--resamples", 2),
    (["compare", "base", "run", "--resamples", "2.5"], "--resamples", 2),
    (["compare", "base", "run", "--seed", "-1"], "--seed", 2),
    # analyze
    (["analyze", "missing.json"], "reports", 2),
    (["analyze", "corrupt.json"], "corrupt.json", 1),
    (["analyze", "--paper", "empty.json"], "--paper", 2),
    (["analyze", "--paper", "--paper-dir", "a_file"], "--paper-dir", 2),
    (["analyze", "--paper", "--problem-solving", "a_folder"], "--problem-solving", 2),
    (["analyze", "--paper", "--components", "0"], "--components", 2),
    (["analyze", "--paper", "--components", "1000"], "--components", 2),
    (["analyze", "--paper", "--plots", "a_file"], "--plots", 2),
    (["analyze", "--paper", "-o", "a_folder"], "--output", 2),
    (["analyze", "--paper", "-o", "a_file/out.json"], "--output", 2),
    # fetch-models takes no argument
    (["fetch-models", "--store", "x"], "--store", 2),
    # cache
    (["cache", "--store", "a_file"], "--store", 2),
    (["cache", "--clear", "--store", "a_folder"], "--store", 1),
    (["cache", "--dry-run", "--store", "a_folder"], "--store", 1),
    (["cache", "--clear", "--verify"], "--verify", 2),
    (["cache", "--upgrade"], "--upgrade", 2),
    (["cache", "--verify", "--upgrade", "--store", "a_folder"], "--upgrade", 1),
    # no subcommand, an unknown one
    ([], "command", 2),
    (["nonsense"], "nonsense", 2),
]


@pytest.mark.parametrize("argv, name, status", CASES, ids=[" ".join(c[0]) or "none" for c in CASES])
def test_a_bad_argument_is_one_line_naming_it_and_changes_nothing(place, capsys, argv, name, status):
    before = _listing(place)
    assert main(argv) == status
    err = capsys.readouterr().err
    assert "Traceback" not in err and name in err
    assert err.count("\n") == 1, err
    assert _listing(place) == before


def test_every_argument_of_every_subcommand_is_in_the_table():
    """A new argument without a bad-value row above fails here."""
    import argparse

    from pytest_agorabench.cli import build_parser

    subcommands = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    for command, sub in subcommands.choices.items():
        rows = [(argv, name) for argv, name, _ in CASES if argv[:1] == [command]]
        for action in sub._actions:
            if isinstance(action, argparse._HelpAction):
                continue
            names = action.option_strings or [action.dest]
            assert any(n in argv or n == name for argv, name in rows for n in names), (
                f"agorabench {command}: no bad value for {names[-1]}")


def test_a_case_file_with_the_schema_but_no_fields_is_one_line(place, capsys):
    """A saved case that passes the schema check but lacks its fields: a sentence, not a KeyError."""
    for name in ("base", "run"):
        (place / name / "cases" / "math-response_generation.json").write_text(
            json.dumps({"schema": "agorabench-saved-run", "setting": "math/response_generation"}))
    assert main(["compare", "base", "run"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "lacks a field" in err and err.count("\n") == 1


@pytest.mark.parametrize("content", [b"{", bytes(range(256)), b"{}", b"[]"], ids=["corrupt", "binary", "empty", "list"])
def test_compare_refuses_a_damaged_case_file_before_printing_anything(place, capsys, content):
    (place / "base" / "cases" / "math-response_generation.json").write_bytes(content)
    (place / "run" / "cases" / "math-response_generation.json").write_bytes(content)
    assert main(["compare", "base", "run"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and "math-response_generation.json" in err and "Traceback" not in err


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any folder")
def test_cache_on_an_unreadable_folder_is_one_line(place, capsys):
    locked = place / "locked"
    locked.mkdir()
    locked.chmod(0)
    try:
        assert main(["cache", "--store", str(locked)]) == 2
    finally:
        locked.chmod(0o755)
    err = capsys.readouterr().err
    assert "--store" in err and "not readable" in err and "Traceback" not in err
