"""The smoke judge: a pairwise judge that checks each answer against the right reply of a smoke-world task.

It plays a judge model through the ``agora-script`` provider (alias ``smoke-judge`` in models.py), reads our
judge prompt (judge_prompts.py: the request, answer A, answer B; "much better" marks the graded scale) and
decides by correctness alone: a right answer beats a wrong one ("much better" on the graded scale), two
right or two wrong answers tie. The right reply comes from the world's rules (smoke_world/rules.py), which
are what the items' reference answers were written from. SmolLM2-135M, the smoke profile's judge before,
could not tell the gold reference from the untrained student on these items (S_ref - S_0 of 0.8 and 0.0
points on 8 AlpacaEval and 8 Arena-Hard items, against 37.4 and 45.0 with this judge; measured with
``bench/smoke_world_gap.py --judge ... --items 8``). Paper and quick keep their LLM judges.

A request that is not a task of the smoke world gets a reply without a verdict, which the judge runner
counts as unparseable: a case judged by it on other items fails closed and says so.
"""

from __future__ import annotations

import re

from pytest_agorabench.smoke_world.rules import if_correct

_PROMPT = re.compile(r"## The request\n(.*?)\n\n## Answer A\n(.*?)\n\n## Answer B\n(.*?)\n\n## How to decide", re.S)
NOT_THE_WORLD = "No verdict: the smoke judge only checks tasks of the smoke world, and this request is not one."


def judge(messages: list[dict], config: dict) -> str:
    """The judge's reply to one judge prompt (``fn(messages, config)`` of the agora-script provider)."""
    prompt = "\n".join(m["content"] for m in messages if m["role"] == "user")
    found = _PROMPT.search(prompt)
    if not found:
        return NOT_THE_WORLD
    request, answer_a, answer_b = found.groups()
    a_right, b_right = if_correct(request, answer_a), if_correct(request, answer_b)
    if a_right is None:
        return NOT_THE_WORLD
    graded = "much better" in prompt[found.end():]
    if a_right == b_right:
        return "Verdict: tie"
    winner = "A" if a_right else "B"
    return f"Verdict: {winner} much better" if graded else f"Verdict: {winner}"
