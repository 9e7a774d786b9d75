"""The code settings' seed data: hub converters (MBPP, xP3x, Magpie coding, CoNaLa) on rows in the hub layouts,
load_hub through the real `datasets` reader on local files, and our fixture seed sets."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import datasets
import pytest

from pytest_agorabench.generation.code_format import check_code
from pytest_agorabench.seeds._rows import RowDropped
from pytest_agorabench.seeds.code_formats import guess_language, is_code_row, looks_like_code
from pytest_agorabench.seeds.fixtures import load_fixture
from pytest_agorabench.seeds.hub import load_hub
from pytest_agorabench.seeds.hub_formats import FORMATS, convert_row
from pytest_agorabench.settings import SETTINGS, get_setting

MBPP = {
    "task_id": 601,
    "text": "Write a function to find the larger of two numbers.",
    "code": "def larger(a, b):\r\n    return a if a > b else b",
    "test_list": ["assert larger(1, 2) == 2", "assert larger(5, 3) == 5"],
    "test_setup_code": "",
    "challenge_test_list": [],
}
XP3X_CODE = {
    "inputs": "Write a Python function that squares a number.",
    "targets": "def square(x):\n    return x * x",
    "language": "eng_Latn",
    "split": "train",
    "template": "synthesis",
    "dataset": "Muennighoff/mbpp",
    "config": "full",
}
XP3X_PROSE = {**XP3X_CODE, "dataset": "great_code", "inputs": "Describe this code: def f(): pass",
              "targets": "It defines an empty function."}
XP3X_OTHER = {**XP3X_CODE, "dataset": "paws-x", "targets": "Yes"}


def dropped(fmt, row, subset=None):
    with pytest.raises(RowDropped) as info:
        convert_row(fmt, row, subset)
    return info.value.reason


def test_every_code_setting_format_is_registered():
    code_formats = {s.format for setting in SETTINGS if setting.domain.value == "code" for s in setting.hub_sources}
    assert code_formats == {"mbpp", "xp3x", "magpie", "conala"} and code_formats <= set(FORMATS)


def test_mbpp_row_becomes_the_task_with_its_checks_and_fenced_code():
    instruction, response = convert_row("mbpp", MBPP)
    assert instruction.startswith(MBPP["text"]) and "assert larger(1, 2) == 2" in instruction
    assert response == "```python\ndef larger(a, b):\n    return a if a > b else b\n```"
    assert check_code(response) is None


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"test_list": []}, "bad_test_list"),
        ({"test_list": [3]}, "bad_test_list"),
        ({"text": "  "}, "empty_field:text"),
        ({"code": None}, "missing_field:code"),
        ({"code": "print('```')"}, "fence_in_code"),
    ],
)
def test_mbpp_bad_rows_are_counted_drops(change, reason):
    assert dropped("mbpp", {**MBPP, **change}) == reason


def test_xp3x_code_subset_keeps_code_targets_from_code_sources():
    assert is_code_row(XP3X_CODE) and not is_code_row(XP3X_PROSE) and not is_code_row(XP3X_OTHER)
    assert is_code_row({**XP3X_OTHER, "language": "code", "targets": XP3X_CODE["targets"]})
    instruction, response = convert_row("xp3x", XP3X_CODE, "code")
    assert instruction == XP3X_CODE["inputs"] and response == f"```python\n{XP3X_CODE['targets']}\n```"
    assert dropped("xp3x", XP3X_PROSE, "code") == "not_in_subset:code"


@pytest.mark.parametrize(
    ("code", "tag"),
    [
        ("#include <stdio.h>\nint main() { return 0; }", "c"),
        ("#include <iostream>\nint main() { std::cout << 1; }", "cpp"),
        ("public class A {\n  public static void main(String[] a) {}\n}", "java"),
        ("using System;\npublic class A { public static void Main() { Console.WriteLine(1); } }", "csharp"),
        ("<?php\n$x = 1;\necho $x;", "php"),
        ("function f(a) {\n  return a;\n}\nconsole.log(f(1));", "javascript"),
        ("def f():\n    return 1", "python"),
    ],
)
def test_guess_language(code, tag):
    assert guess_language(code) == tag


def test_looks_like_code_needs_two_signs():
    assert looks_like_code("x = 1;\ny = 2;") and not looks_like_code("Return the number;")


def test_magpie_coding_subset():
    row = {"instruction": "Fix my loop", "response": "```python\nfor i in range(3):\n    print(i)\n```",
           "task_category": "Coding & Debugging"}
    assert convert_row("magpie", row, "coding") == (row["instruction"], row["response"])
    assert dropped("magpie", {**row, "task_category": "Math"}, "coding") == "not_in_subset:coding"


def test_conala_prefers_the_curated_rewrite_and_keeps_the_snippet_as_posted():
    mined = {"question_id": 1, "parent_answer_post_id": 2, "prob": 0.9, "snippet": "x[::-1]", "intent": "reverse x", "id": "1_2_0"}
    assert convert_row("conala", mined) == ("reverse x", "x[::-1]")
    curated = {"question_id": 3, "intent": "how to sort?", "rewritten_intent": "sort list `xs`", "snippet": "xs.sort()"}
    assert convert_row("conala", curated) == ("sort list `xs`", "xs.sort()")
    assert dropped("conala", {**mined, "snippet": ""}) == "empty_field:snippet"


@pytest.fixture
def hub(monkeypatch, tmp_path):
    """The hub replaced by local JSONL files in the hub's layout, read by the real `load_dataset`."""
    files: dict[tuple[str, str | None], Path] = {}
    real = datasets.load_dataset

    def fake(path, name=None, *, split=None, **kwargs):
        return real("json", data_files=str(files[(path, name)]), split="train", cache_dir=str(tmp_path / "cache"))

    monkeypatch.setattr(datasets, "load_dataset", fake)

    def add(dataset_id, config, rows):
        file = tmp_path / f"{dataset_id.replace('/', '_')}_{config}.jsonl"
        file.write_text("".join(json.dumps(r) + "\n" for r in rows))
        files[(dataset_id, config)] = file

    return add


def test_code_settings_load_from_hub_layout_files(hub):
    ig = get_setting("code/instance_generation")
    mbpp_source, xp3x_source = ig.hub_sources
    hub(mbpp_source.dataset_id, mbpp_source.config, [MBPP, {**MBPP, "task_id": 602, "test_list": []}])
    hub(xp3x_source.dataset_id, xp3x_source.config, [XP3X_CODE, XP3X_PROSE, XP3X_OTHER])
    rows, drops = load_hub(mbpp_source, None, seed=0)
    assert [r["id"] for r in rows] == ["google-research-datasets/mbpp:train:0"] and drops == {"bad_test_list": 1}
    rows, drops = load_hub(xp3x_source, None, seed=0)
    assert len(rows) == 1 and drops == {"not_in_subset:code": 2}

    (qe_source,) = get_setting("code/quality_enhancement").hub_sources
    hub(qe_source.dataset_id, qe_source.config, [{"intent": "reverse x", "snippet": "x[::-1]", "id": "a"},
                                                 {"intent": "", "snippet": "y", "id": "b"}])
    rows, drops = load_hub(qe_source, None, seed=0)
    assert rows[0]["instruction"] == "reverse x" and drops == {"empty_field:intent": 1}


@pytest.mark.parametrize("method", ["instance_generation", "response_generation", "quality_enhancement"])
def test_fixture_seed_sets_are_ours_and_well_formed(method):
    rows = load_fixture(get_setting(f"code/{method}"))
    assert 35 <= len(rows) <= 45 and all(r["source"] == "fixture" for r in rows)
    assert len({r["instruction"] for r in rows}) == len(rows)
    if method != "quality_enhancement":  # CoNaLa-style answers are raw snippets, as posted on the web
        assert all(check_code(r["response"]) is None for r in rows)


def test_instance_generation_fixture_code_passes_its_own_checks():
    from pytest_agorabench.evaluation.code_answers import mbpp_program
    from pytest_agorabench.sandbox import Limits, run_python

    rows = load_fixture(get_setting("code/instance_generation"))

    async def run_all():
        programs = []
        for row in rows:
            tests = [line for line in row["instruction"].splitlines() if line.startswith("assert ")]
            programs.append(mbpp_program(row["response"], tests)[0])
        return await asyncio.gather(*(run_python(p, Limits(wall_seconds=5, cpu_seconds=3)) for p in programs))

    results = asyncio.run(run_all())
    assert [r.status for r in results] == ["passed"] * len(rows)
