"""Local seed files: every format, the field aliases, row ids, and every error path."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pytest_agorabench.seeds import SeedError, load_local, read_local

ROWS = [
    {"instruction": "Add 1 and 2.", "response": "1 + 2 = 3.\n[RESULT] 3 [/RESULT]"},
    {"instruction": "Double 4.", "response": "4 * 2 = 8.\n[RESULT] 8 [/RESULT]"},
]


def write_jsonl(path: Path, records: list, blank_lines: bool = False) -> Path:
    lines = [json.dumps(r) for r in records]
    if blank_lines:
        lines.insert(1, "")
    path.write_text("\n".join(lines) + "\n")
    return path


def write_parquet(path: Path, records: list[dict]) -> Path:
    pq.write_table(pa.Table.from_pylist(records), path)
    return path


def test_jsonl_rows_get_stem_and_line_ids(tmp_path):
    rows = load_local(write_jsonl(tmp_path / "mine.jsonl", ROWS, blank_lines=True))
    assert [r["id"] for r in rows] == ["mine:1", "mine:3"]  # the blank line 2 keeps line numbers honest
    assert rows[0] == {
        "id": "mine:1",
        "instruction": "Add 1 and 2.",
        "response": "1 + 2 = 3.\n[RESULT] 3 [/RESULT]",
        "source": "file:mine.jsonl",
    }


def test_json_list_rows_are_numbered_from_one(tmp_path):
    path = tmp_path / "list.json"
    path.write_text(json.dumps(ROWS, indent=2))
    assert [r["id"] for r in load_local(path)] == ["list:1", "list:2"]


def test_parquet_rows(tmp_path):
    rows = load_local(write_parquet(tmp_path / "table.parquet", [dict(r, extra=1) for r in ROWS]))
    assert [(r["id"], r["instruction"]) for r in rows] == [("table:1", "Add 1 and 2."), ("table:2", "Double 4.")]


@pytest.mark.parametrize(("first", "second"), [("question", "answer"), ("prompt", "completion")])
def test_field_aliases(tmp_path, first, second):
    records = [{first: r["instruction"], second: r["response"]} for r in ROWS]
    rows = load_local(write_jsonl(tmp_path / "alias.jsonl", records))
    assert [(r["instruction"], r["response"]) for r in rows] == [(r["instruction"], r["response"]) for r in ROWS]


def test_folder_reads_every_supported_file_in_sorted_order(tmp_path):
    write_jsonl(tmp_path / "b.jsonl", ROWS[:1])
    (tmp_path / "a.json").write_text(json.dumps(ROWS[1:]))
    (tmp_path / "sub").mkdir()
    write_parquet(tmp_path / "sub" / "c.parquet", ROWS)
    (tmp_path / "README.md").write_text("not seed data")
    (tmp_path / ".hidden").mkdir()
    write_jsonl(tmp_path / ".hidden" / "skip.jsonl", ROWS)
    ids = [r["id"] for r in load_local(tmp_path)]
    assert ids == ["a:1", "b:1", "sub/c:1", "sub/c:2"]


def test_folder_with_clashing_stems_keeps_ids_unique(tmp_path):
    write_jsonl(tmp_path / "x.jsonl", ROWS[:1])
    (tmp_path / "x.json").write_text(json.dumps(ROWS[1:]))
    assert [r["id"] for r in load_local(tmp_path)] == ["x.json:1", "x.jsonl:1"]


def test_empty_text_is_dropped_and_counted(tmp_path):
    records = [*ROWS, {"instruction": "  ", "response": "r"}, {"instruction": "i", "response": None}]
    rows, drops = read_local(write_jsonl(tmp_path / "d.jsonl", records))
    assert len(rows) == 2
    assert drops == {"empty_instruction": 1, "empty_response": 1}


def test_text_is_stripped(tmp_path):
    rows = load_local(write_jsonl(tmp_path / "s.jsonl", [{"instruction": " i \n", "response": "\n r "}]))
    assert (rows[0]["instruction"], rows[0]["response"]) == ("i", "r")


# ---------------------------------------------------------------- errors


def raises(path: Path, pattern: str) -> None:
    with pytest.raises(SeedError, match=pattern):
        load_local(path)


def test_missing_file(tmp_path):
    raises(tmp_path / "nope.jsonl", "does not exist")


def test_unsupported_extension(tmp_path):
    path = tmp_path / "seeds.csv"
    path.write_text("instruction,response\n")
    raises(path, r"unsupported extension '\.csv'.*\.json, \.jsonl, \.parquet")


def test_folder_without_seed_files(tmp_path):
    (tmp_path / "notes.txt").write_text("x")
    raises(tmp_path, "holds no .json/.jsonl/.parquet files")


def test_bad_jsonl_line_is_named(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(ROWS[0]) + "\n" + '{"instruction": "x", "response": \n')
    raises(path, r"bad\.jsonl: line 2 is not valid JSON")


def test_bad_json_names_line_and_column(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('[\n  {"instruction": "x",\n   "response": oops}\n]')
    raises(path, r"not valid JSON at line 3, column \d+")


def test_json_must_be_a_list(tmp_path):
    path = tmp_path / "obj.json"
    path.write_text(json.dumps({"rows": ROWS}))
    raises(path, "must hold a list of objects, found dict")


def test_missing_fields_name_the_row(tmp_path):
    path = write_jsonl(tmp_path / "f.jsonl", [ROWS[0], {"instruction": "only half"}])
    raises(path, r"f\.jsonl: line 2: missing fields; needs one of the pairs instruction/response, "
           r"question/answer, prompt/completion \(found: instruction\)")


def test_missing_fields_in_parquet_name_the_row(tmp_path):
    path = write_parquet(tmp_path / "t.parquet", [{"text": "a"}, {"text": "b"}])
    raises(path, r"t\.parquet: row 1: missing fields.*found: text")


def test_non_object_record(tmp_path):
    raises(write_jsonl(tmp_path / "n.jsonl", [ROWS[0], [1, 2]]), "line 2: expected an object.*found list")


def test_non_text_field(tmp_path):
    raises(write_jsonl(tmp_path / "t.jsonl", [{"instruction": "i", "response": 42}]), "'response' must be text")


@pytest.mark.parametrize(("name", "content"), [("e.jsonl", "\n\n"), ("e.json", "[]"), ("e.json", "  ")])
def test_empty_file(tmp_path, name, content):
    path = tmp_path / name
    path.write_text(content)
    raises(path, "is empty")


def test_empty_parquet(tmp_path):
    schema = pa.schema([("instruction", pa.string()), ("response", pa.string())])
    path = tmp_path / "e.parquet"
    pq.write_table(schema.empty_table(), path)
    raises(path, "is empty")


def test_corrupt_parquet(tmp_path):
    path = tmp_path / "c.parquet"
    path.write_bytes(b"not parquet at all")
    raises(path, "not a readable Parquet file")


def test_non_utf8_text(tmp_path):
    path = tmp_path / "latin.jsonl"
    path.write_bytes('{"instruction": "caf\u00e9", "response": "r"}'.encode("latin-1"))
    raises(path, "not UTF-8 text")
