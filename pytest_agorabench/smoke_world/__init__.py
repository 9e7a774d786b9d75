"""The smoke world: a small world of tasks, written by us, that the tiny student learns in seconds.

The smoke profile reads its seeds and benchmark items from ``fixtures/smoke_world/`` (built by
``build.py``), so that the gold reference beats the untrained student by a wide margin on every benchmark
and a PGR is defined (issue 20). Three domains, each made of one-step tasks over digits (the tiny student's
tokenizer splits digits, which is what makes sums learnable in seconds):

- math: "What is A + B?" with single digits (GSM8K and MATH hub formats);
- code: one-line functions ``add_k`` / ``sub_k`` / ``times_k`` with asserts (MBPP and HumanEval formats);
- instruction following: "Reply with the larger of A and B." and two sibling families, whose one right
  reply the rules below compute, so the smoke judge (evaluation/smoke_judge.py) can check an answer.
"""
