"""The benchmark has signal: correct generated data recovers clearly more of the gap than corrupted data.

Response generation on single-digit sums: the seed file holds 80 of the 100 pairs with worked answers, the
benchmark folder holds the other 20 in the GSM8K and MATH hub formats. The scripted generator answers the
seed instructions correctly or off by seven; the tiny student learns whichever it is given, the gold
reference is the student trained on the seeds' own (correct) answers, and the untrained student scores (almost) 0.
"""

import json
import random
from pathlib import Path

import pytest

from pytest_agorabench.config import build_config
from pytest_agorabench.pipeline import run_case
from pytest_agorabench.settings import get_setting

SCRIPT = Path(__file__).with_name("scripted.py")


def _write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.fixture(scope="module")
def sums(tmp_path_factory):
    root = tmp_path_factory.mktemp("sums")
    pairs = [(a, b) for a in range(10) for b in range(10)]
    random.Random(7).shuffle(pairs)
    held, train = pairs[:20], pairs[20:]
    seeds = [
        {"instruction": f"What is {a} + {b}?", "response": f"{a} + {b} = {a + b}.\n[RESULT] {a + b} [/RESULT]"}
        for a, b in train
    ]
    bench = root / "benchmarks"
    bench.mkdir()
    _write_jsonl(bench / "gsm8k.jsonl", [
        {"question": f"What is {a} + {b}?", "answer": f"{a} + {b} = <<{a}+{b}={a + b}>>{a + b}.\n#### {a + b}"}
        for a, b in held
    ])
    _write_jsonl(bench / "math.jsonl", [
        {"problem": f"What is {a} + {b}?", "level": "Level 1", "type": "Prealgebra",
         "solution": f"Adding gives ${a} + {b} = \\boxed{{{a + b}}}$."}
        for a, b in held
    ])
    return {"seed_file": _write_jsonl(root / "seeds.jsonl", seeds), "benchmark_dir": bench, "store": root / "store"}


def _case(sums, function: str):
    cli = {
        "generator": f"agora-script/{SCRIPT}:{function}",
        "instances": 80,
        "seed_file": str(sums["seed_file"]),
        "benchmark_dir": str(sums["benchmark_dir"]),
        "store": str(sums["store"]),
        "intrinsic": "off",  # PGR is what this test is about; the math e2e run measures the intrinsic metrics
    }
    config = build_config(cli, {}, Path.cwd())
    return run_case(get_setting("math/response_generation"), config)


def test_correct_data_recovers_clearly_more_of_the_gap_than_wrong_data(sums):
    good = _case(sums, "arithmetic")
    bad = _case(sums, "arithmetic_wrong")
    assert good.instances_valid == bad.instances_valid == 80
    for result in (good, bad):
        assert all(b.base <= 10.0 for b in result.benchmarks), result.benchmarks  # S_0 guesses at most 2 of 20
        assert all(b.reference >= 25.0 for b in result.benchmarks), result.benchmarks
    assert good.pgr.point >= 60.0, good.benchmarks
    assert bad.pgr.point <= 10.0, bad.benchmarks
    # Not just the points: the intervals do not overlap.
    assert good.pgr.low > bad.pgr.high
