"""AlpacaEval 2.0 and Arena-Hard items: our fixtures, local copies in the hub layouts, and the hub path."""

import json
from pathlib import Path

import pytest

from pytest_agorabench.evaluation.benchmarks import BenchmarkError, get_benchmark, load_items
from pytest_agorabench.evaluation.if_benchmarks import (
    ALPACA_FILE,
    ALPACA_REPO,
    ARENA_BASELINE,
    ARENA_FOLDER,
    ARENA_REPO,
    alpaca_hub_rows,
    arena_hub_rows,
    judge_style,
)


def write_jsonl(path: Path, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def question(qid, text):
    return {"question_id": qid, "category": "arena-hard-v0.1", "cluster": "c", "turns": [{"content": text}]}


def answer(qid, text, model=ARENA_BASELINE):
    return {"question_id": qid, "answer_id": f"a-{qid}", "model_id": model,
            "choices": [{"index": 0, "turns": [{"content": text, "token_len": 3}]}], "tstamp": 1.0}


def test_both_benchmarks_are_judged_instruction_following_benchmarks():
    assert judge_style(get_benchmark("alpacaeval2")) == "preference"
    assert judge_style(get_benchmark("arena_hard")) == "graded"
    assert judge_style(get_benchmark("gsm8k")) is None
    assert get_benchmark("arena_hard").domain == "instruction_following"


def test_fixture_items_carry_our_reference_and_baseline_answers():
    alpaca = load_items("alpacaeval2")
    arena = load_items("arena_hard")
    assert 20 <= len(alpaca) <= 30 and 15 <= len(arena) <= 30
    for item in alpaca + arena:
        assert item["question"].strip() and item["answer"].strip()
    assert len({i["id"] for i in arena}) == len(arena)  # question_id names the item
    assert all(len(i["id"]) == 32 for i in arena)


def test_alpaca_eval_json_list_in_the_hub_layout(tmp_path):
    rows = [
        {"instruction": "Say hi", "output": "Hi!", "generator": "gpt4_turbo", "dataset": "helpful_base"},
        {"instruction": "Name a colour", "output": "Blue.", "generator": "gpt4_turbo", "dataset": "koala"},
    ]
    file = tmp_path / ALPACA_FILE
    file.write_text(json.dumps(rows))
    items = load_items("alpacaeval2", path=file)
    assert [(i["question"], i["answer"]) for i in items] == [("Say hi", "Hi!"), ("Name a colour", "Blue.")]


def test_alpaca_eval_row_without_reference_is_a_clear_error(tmp_path):
    file = write_jsonl(tmp_path / "alpacaeval2.jsonl", [{"instruction": "x", "output": ""}])
    with pytest.raises(BenchmarkError, match="row 1 lacks field"):
        load_items("alpacaeval2", path=tmp_path)


@pytest.mark.parametrize("layout", ["direct", "subfolder", "question_file"])
def test_arena_hard_folder_layouts(tmp_path, layout):
    root = tmp_path if layout == "direct" else tmp_path / "arena_hard"
    write_jsonl(root / "question.jsonl", [question("q1", "Prove it."), question("q2", "Write code.")])
    write_jsonl(root / "model_answer" / f"{ARENA_BASELINE}.jsonl", [answer("q2", "def f(): pass"), answer("q1", "Proof.")])
    path = root / "question.jsonl" if layout == "question_file" else tmp_path
    items = load_items("arena_hard", path=path)
    assert [(i["id"], i["question"], i["answer"]) for i in items] == [
        ("q1", "Prove it.", "Proof."),
        ("q2", "Write code.", "def f(): pass"),
    ]


def test_arena_hard_picks_the_default_baseline_among_several(tmp_path):
    write_jsonl(tmp_path / "question.jsonl", [question("q1", "Q")])
    write_jsonl(tmp_path / "model_answer" / "other-model.jsonl", [answer("q1", "other", "other-model")])
    write_jsonl(tmp_path / "model_answer" / f"{ARENA_BASELINE}.jsonl", [answer("q1", "baseline")])
    assert load_items("arena_hard", path=tmp_path)[0]["answer"] == "baseline"


def test_arena_hard_errors_name_the_missing_piece(tmp_path):
    with pytest.raises(BenchmarkError, match="no question.jsonl"):
        load_items("arena_hard", path=tmp_path)
    write_jsonl(tmp_path / "question.jsonl", [question("q1", "Q"), question("q2", "Q2")])
    with pytest.raises(BenchmarkError, match="baseline answers"):
        load_items("arena_hard", path=tmp_path)
    write_jsonl(tmp_path / "model_answer" / "a.jsonl", [answer("q1", "x")])
    write_jsonl(tmp_path / "model_answer" / "b.jsonl", [answer("q1", "y")])
    with pytest.raises(BenchmarkError, match="found: a.jsonl, b.jsonl"):
        load_items("arena_hard", path=tmp_path)
    (tmp_path / "model_answer" / "b.jsonl").unlink()
    with pytest.raises(BenchmarkError, match="1 question\\(s\\) have no baseline answer"):
        load_items("arena_hard", path=tmp_path)


def test_arena_hard_malformed_turns_are_a_clear_error(tmp_path):
    write_jsonl(tmp_path / "question.jsonl", [{"question_id": "q1", "turns": "not a list"}])
    write_jsonl(tmp_path / "model_answer" / "m.jsonl", [answer("q1", "x")])
    with pytest.raises(BenchmarkError, match="turns"):
        load_items("arena_hard", path=tmp_path)


def test_hub_rows_come_from_the_published_files(tmp_path):
    alpaca = tmp_path / ALPACA_FILE
    alpaca.write_text(json.dumps([{"instruction": "i", "output": "o", "generator": "g", "dataset": "d"}]))
    q = write_jsonl(tmp_path / "q.jsonl", [question("q1", "Q")])
    a = write_jsonl(tmp_path / "a.jsonl", [answer("q1", "A")])
    asked = []

    def download(repo, filename):
        asked.append((repo, filename))
        return str({ALPACA_FILE: alpaca, f"{ARENA_FOLDER}/question.jsonl": q}.get(filename, a))

    assert alpaca_hub_rows(download)[0]["output"] == "o"
    joined = arena_hub_rows(download)
    assert joined[0]["baseline"]["choices"][0]["turns"][0]["content"] == "A"
    assert asked == [
        (ALPACA_REPO, ALPACA_FILE),
        (ARENA_REPO, f"{ARENA_FOLDER}/question.jsonl"),
        (ARENA_REPO, f"{ARENA_FOLDER}/model_answer/{ARENA_BASELINE}.jsonl"),
    ]


def test_offline_hub_download_is_a_clear_error(monkeypatch):
    import huggingface_hub

    def offline(**kwargs):
        raise OSError("network unreachable")

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", offline)
    with pytest.raises(BenchmarkError, match="could not download .*Offline\\?"):
        load_items("alpacaeval2", source="hub")
