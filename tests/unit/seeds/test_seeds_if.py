"""Instruction-following seeds: LIMA, Magpie-Pro and WebInstruct (non-math) through the real `datasets`
loader on local files in each hub layout, and our fixture seeds."""

from __future__ import annotations

import json
from pathlib import Path

import datasets
import pytest

from pytest_agorabench.seeds._rows import RowDropped
from pytest_agorabench.seeds.fixtures import load_fixture
from pytest_agorabench.seeds.hub import load_hub
from pytest_agorabench.seeds.hub_formats import convert_row
from pytest_agorabench.settings import available_settings, get_setting

IG = get_setting("instruction_following/instance_generation")
RG = get_setting("instruction_following/response_generation")
QE = get_setting("instruction_following/quality_enhancement")


@pytest.fixture
def hub(monkeypatch, tmp_path):
    """`datasets.load_dataset(hub id)` answered from a local JSONL file in that dataset's row layout."""
    files: dict[str, Path] = {}
    real = datasets.load_dataset

    def fake(path, name=None, *, split=None, **kwargs):
        if path not in files:
            raise FileNotFoundError(f"Couldn't find dataset {path} on the Hugging Face Hub")
        return real("json", data_files=str(files[path]), split="train", cache_dir=str(tmp_path / "cache"))

    monkeypatch.setattr(datasets, "load_dataset", fake)

    def add(dataset_id: str, rows: list[dict]) -> None:
        file = tmp_path / (dataset_id.replace("/", "_") + ".jsonl")
        file.write_text("".join(json.dumps(r) + "\n" for r in rows))
        files[dataset_id] = file

    return add


def test_lima_first_exchange_with_counted_drops(hub):
    hub("GAIR/lima", [
        {"conversations": ["How do I boil an egg?", "Put it in boiling water for 8 minutes."], "source": "wikihow"},
        {"conversations": ["Tell me a joke.", "Why did the chicken cross the road?", "Why?", "To get across."],
         "source": "multi_turn"},
        {"conversations": ["Only a question"], "source": "stackexchange"},
        {"conversations": ["  ", "An answer to nothing"], "source": "stackexchange"},
    ])
    rows, drops = load_hub(IG.hub_sources[0], None, seed=0)
    assert [(r["instruction"], r["response"]) for r in rows] == [
        ("How do I boil an egg?", "Put it in boiling water for 8 minutes."),
        ("Tell me a joke.", "Why did the chicken cross the road?"),
    ]
    assert rows[0]["id"] == "GAIR/lima:train:0" and rows[0]["source"] == "GAIR/lima"
    assert drops == {"no_response_turn": 1, "empty_field:instruction": 1}


@pytest.mark.parametrize(
    "row, reason",
    [({"source": "x"}, "missing_field:conversations"), ({"conversations": "text"}, "bad_conversations"),
     ({"conversations": ["q", 3]}, "bad_conversations"), ({"conversations": ["q", " "]}, "empty_field:response")],
)
def test_lima_unconvertible_rows_name_their_reason(row, reason):
    with pytest.raises(RowDropped) as info:
        convert_row("lima", row)
    assert info.value.reason == reason


def test_magpie_pro_keeps_every_task_category(hub):
    hub("Magpie-Align/Magpie-Pro-300K-Filtered", [
        {"instruction": "Plan a trip to Kyoto.", "response": "Day 1: temples...", "task_category": "Planning",
         "conversations": [{"from": "human", "value": "Plan a trip to Kyoto."}, {"from": "gpt", "value": "Day 1"}]},
        {"instruction": "Solve 2x = 4.", "response": "x = 2", "task_category": "Math", "conversations": []},
        {"instruction": None, "response": None, "task_category": "Editing",
         "conversations": [{"from": "human", "value": "Fix: their going"}, {"from": "gpt", "value": "They're going"}]},
    ])
    rows, drops = load_hub(RG.hub_sources[0], None, seed=0)
    assert [r["instruction"] for r in rows] == ["Plan a trip to Kyoto.", "Solve 2x = 4.", "Fix: their going"]
    assert rows[2]["response"] == "They're going"
    assert not drops


def test_webinstruct_non_math_subset(hub):
    hub("TIGER-Lab/WebInstructSub", [
        {"question": "Why did the Roman Empire fall?", "answer": "Many reasons...", "source": "socratic"},
        {"question": "Solve the equation 3x + 5 = 20 for x.", "answer": "x = 5", "source": "socratic"},
        {"question": "What is an enzyme?", "answer": "A protein that speeds reactions.", "source": "study"},
        {"question": "Integrate x^2", "answer": "x^3/3", "source": "mathstackexchange"},
    ])
    rows, drops = load_hub(QE.hub_sources[0], None, seed=0)
    assert [r["instruction"] for r in rows] == ["Why did the Roman Empire fall?", "What is an enzyme?"]
    assert drops == {"not_in_subset:non_math": 2}


def test_fixture_seeds_of_the_three_settings():
    assert {s.key for s in available_settings("instruction_following")} == {IG.key, RG.key, QE.key}
    ids = set()
    for setting in (IG, RG, QE):
        rows = load_fixture(setting)
        assert 35 <= len(rows) <= 45
        assert all(r["instruction"] and r["response"] and r["source"] == "fixture" for r in rows)
        ids |= {r["id"] for r in rows}
    assert len(ids) == sum(len(load_fixture(s)) for s in (IG, RG, QE))  # ids unique across the three files
