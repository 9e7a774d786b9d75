"""Write the smoke world's fixture files: ``python -m pytest_agorabench.smoke_world.build fixtures/smoke_world``.

Layout (what the loaders read): ``seeds/<domain>/<method>.jsonl`` and ``benchmarks/<name>.jsonl`` in the
hub row formats, Arena-Hard as ``benchmarks/arena_hard/question.jsonl`` + ``model_answer/<baseline>.jsonl``.
Every task of a domain is drawn once from its family grid with a fixed shuffle, so benchmark items are held
out from the seeds. The three methods of a domain share their seed rows: the gold reference is the student
trained on them, so one reference training serves the whole domain.
"""

from __future__ import annotations

import json
import random
import sys
from itertools import product
from pathlib import Path

from pytest_agorabench.evaluation.code_answers import humaneval_question, mbpp_question
from pytest_agorabench.smoke_world import rules

SHUFFLE_SEED = 20  # issue 20
SEEDS_PER_DOMAIN = 80  # enough for the tiny student to learn each domain (bench/smoke_world_gap.py)
ITEMS_PER_BENCHMARK = 20
METHODS = ("instance_generation", "response_generation", "quality_enhancement")
ARENA_BASELINE = "agorabench-smoke-weak-baseline"  # wrong on every item: see rules.IfFamily.weak_answer


def _split(grid: list, benchmarks: int) -> tuple[list[list], list]:
    grid = list(grid)
    random.Random(SHUFFLE_SEED).shuffle(grid)
    held = [grid[i * ITEMS_PER_BENCHMARK:(i + 1) * ITEMS_PER_BENCHMARK] for i in range(benchmarks)]
    start = benchmarks * ITEMS_PER_BENCHMARK
    return held, grid[start:start + SEEDS_PER_DOMAIN]


def _seed(domain: str, index: int, instruction: str, response: str) -> dict:
    return {"id": f"smoke-{domain}-{index + 1:03d}", "instruction": instruction, "response": response,
            "source": "smoke_world"}


def math_world() -> tuple[list[dict], dict[str, list[dict]]]:
    (items,), seeds = _split(list(product(range(10), range(10))), 1)
    rows = [_seed("math", i, rules.sum_question(a, b), rules.sum_solution(a, b)) for i, (a, b) in enumerate(seeds)]
    gsm8k = [{"question": rules.sum_question(a, b), "answer": f"{a} + {b} = <<{a}+{b}={a + b}>>{a + b}.\n#### {a + b}"}
             for a, b in items]
    math = [{"problem": rules.sum_question(a, b), "level": "Level 1", "type": "Prealgebra",
             "solution": f"Adding, ${a} + {b} = \\boxed{{{a + b}}}$."} for a, b in items]
    return rows, {"gsm8k": gsm8k, "math": math}


def code_world() -> tuple[list[dict], dict[str, list[dict]]]:
    (mbpp_items, he_items), seeds = _split(list(product(rules.CODE_FAMILIES, range(1, 41))), 2)
    rows = []
    for i, (family, k) in enumerate(seeds):
        # Half the seeds ask as MBPP does, half as HumanEval does: the student meets both question layouts.
        if i % 2:
            question = humaneval_question(rules.humaneval_prompt(family, k))
        else:
            question = mbpp_question(rules.code_description(family, k), rules.code_asserts(family, k))
        rows.append(_seed("code", i, question, f"```python\n{rules.code_body(family, k)}\n```"))
    mbpp = [{"task_id": 20_001 + i, "text": rules.code_description(f, k), "code": rules.code_body(f, k),
             "test_list": rules.code_asserts(f, k), "test_setup_code": "", "challenge_test_list": []}
            for i, (f, k) in enumerate(mbpp_items)]
    humaneval = []
    for i, (f, k) in enumerate(he_items):
        checks = "".join(f"    assert candidate({x}) == {rules.code_value(f, k, x)}\n" for x in rules.CODE_CHECK_INPUTS)
        humaneval.append({"task_id": f"SmokeWorld/{i}", "prompt": rules.humaneval_prompt(f, k),
                          "canonical_solution": "    return " + rules.CODE_FAMILIES[f][1].format(k=k) + "\n",
                          "test": f"\n\ndef check(candidate):\n{checks}\n", "entry_point": f"{f}_{k}"})
    return rows, {"mbpp": mbpp, "humaneval": humaneval}


def if_world() -> tuple[list[dict], dict[str, list[dict]], tuple[list[dict], list[dict]]]:
    grid = [(fam, a, b) for fam in rules.IF_FAMILIES for a, b in product(range(10), range(10)) if a != b]
    (alpaca_items, arena_items), seeds = _split(grid, 2)
    rows = [_seed("if", i, fam.question(a, b), fam.answer(a, b)) for i, (fam, a, b) in enumerate(seeds)]
    alpaca = [{"instruction": fam.question(a, b), "output": fam.answer(a, b), "generator": "agorabench-smoke-world",
               "dataset": "agorabench-smoke-world"} for fam, a, b in alpaca_items]
    questions, answers = [], []
    for i, (fam, a, b) in enumerate(arena_items):
        qid = f"smoke-world-{i:03d}"
        questions.append({"question_id": qid, "category": "arena-hard-v0.1", "cluster": fam.name,
                          "turns": [{"content": fam.question(a, b)}]})
        reply = fam.weak_answer(a, b)
        answers.append({"question_id": qid, "answer_id": f"weak-{i:03d}", "model_id": ARENA_BASELINE,
                        "choices": [{"index": 0, "turns": [{"content": reply, "token_len": len(reply.split())}]}],
                        "tstamp": 1_765_000_000.0 + i})
    return rows, {"alpacaeval2": alpaca}, (questions, answers)


def _write(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def build(root: Path) -> None:
    root = Path(root)
    math_rows, math_bench = math_world()
    code_rows, code_bench = code_world()
    if_rows, if_bench, arena = if_world()
    for domain, rows in (("math", math_rows), ("code", code_rows), ("instruction_following", if_rows)):
        for method in METHODS:
            _write(root / "seeds" / domain / f"{method}.jsonl", rows)
    for name, items in {**math_bench, **code_bench, **if_bench}.items():
        _write(root / "benchmarks" / f"{name}.jsonl", items)
    questions, answers = arena
    _write(root / "benchmarks" / "arena_hard" / "question.jsonl", questions)
    _write(root / "benchmarks" / "arena_hard" / "model_answer" / f"{ARENA_BASELINE}.jsonl", answers)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m pytest_agorabench.smoke_world.build OUTPUT_FOLDER")
    build(Path(sys.argv[1]))
