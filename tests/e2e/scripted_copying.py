"""A scripted generator that copies the signal benchmark (fixtures/signal/benchmarks) into its "new"
instances, for the contamination tests: per prompt (by its hash) a verbatim copy of a benchmark question
with its worked answer, a paraphrase of one (words reordered, numbers kept), or a clean sum that is no
benchmark item in either order. ``clean`` writes only the last kind."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

BENCHMARK = Path(__file__).resolve().parents[2] / "fixtures" / "signal" / "benchmarks" / "gsm8k.jsonl"
QUESTIONS = [json.loads(line)["question"] for line in BENCHMARK.read_text().splitlines() if line.strip()]
PAIRS = [tuple(int(x) for x in re.findall(r"\d+", q)) for q in QUESTIONS]
CLEAN = [(a, b) for a in range(10) for b in range(10) if (a, b) not in PAIRS and (b, a) not in PAIRS]
KINDS = ("verbatim", "paraphrase", "clean")


def _instance(instruction: str, a: int, b: int) -> str:
    return f"{instruction}\nOUTPUT: {a} + {b} = {a + b}.\n[RESULT] {a + b} [/RESULT]\n[END]"


def kind_of(prompt: str) -> tuple[str, int]:
    digest = int(hashlib.sha256(prompt.encode()).hexdigest(), 16)
    return KINDS[digest % 3], digest // 3


def write(kind: str, pick: int) -> str:
    if kind == "clean":
        a, b = CLEAN[pick % len(CLEAN)]
        return _instance(f"What is {a} + {b}?", a, b)
    a, b = PAIRS[pick % len(PAIRS)]
    if kind == "verbatim":
        return _instance(QUESTIONS[pick % len(QUESTIONS)], a, b)
    return _instance(f"{a} + {b} is what?", a, b)


def _prompt(messages: list[dict]) -> str:
    return "\n".join(m["content"] for m in messages if m["role"] == "user")


def copying(messages: list[dict], config: dict) -> str:
    """Instance generation that copies about a third of its rows verbatim and paraphrases another third."""
    return write(*kind_of(_prompt(messages)))


def clean(messages: list[dict], config: dict) -> str:
    """Instance generation with clean sums only."""
    return write("clean", kind_of(_prompt(messages))[1])
