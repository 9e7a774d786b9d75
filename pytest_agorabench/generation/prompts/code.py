"""Code rules and themes for the three methods (AGORABENCH.md 2.2-2.4), in our own words.

The answer format (one fenced block tagged with its language, and nothing outside it) is what the code
validator checks (``generation/code_format.py``) and what the MBPP/HumanEval answer extraction expects.
"""

from __future__ import annotations

from pytest_agorabench.generation.prompts.base import DomainRules

LANGUAGES = ("Python", "Java", "C++", "C", "JavaScript", "C#", "PHP")
TASK_KINDS = ("implementing", "fixing")

# {implementing, fixing} x seven languages (AGORABENCH.md 2.2).
THEMES = tuple(
    f"{kind} a program in {language}"
    + (" (the problem shows broken code to repair)" if kind == "fixing" else " (the problem asks for new code)")
    for kind in TASK_KINDS
    for language in LANGUAGES
)

# Shared by response generation and the instance-generation output rules.
_ANSWER_RULES = (
    "Answer with one fenced code block and nothing else: open it with three backticks followed by the "
    "language name, close it with three backticks.",
    "The code must be complete and correct, ready to run as it stands.",
    "Do not put comments, docstrings, test cases, example calls or printed demonstrations in the code.",
    "Write no explanation, greeting or remark before or after the code block.",
)

RULES = DomainRules(
    domain="code",
    input_noun="a programming problem",
    output_noun="its solution as a single fenced code block",
    themes=THEMES,
    ig_input_rules=(
        "Write exactly one programming problem on the theme given under \"This example\".",
        "Make it much harder than the examples: it should need real care with the algorithm, the data "
        "structures or the edge cases, not only a single library call.",
        "Say precisely what is given and what must be produced; name the function or program to write "
        "and its inputs and outputs.",
        "You may add a few test cases (input and expected output) to pin the behaviour down.",
    ),
    ig_output_rules=_ANSWER_RULES,
    rg_task="Write the code that solves the programming problem given as INPUT.",
    rg_rules=_ANSWER_RULES,
    qe_answer_rules=(
        "The revised answer is exactly one fenced code block tagged with its language, with nothing "
        "outside it.",
        "Make the code correct, complete and idiomatic; keep what the original does right.",
        "The block may end with a few assert statements that check the code; write no other tests, "
        "example calls, comments or explanations.",
    ),
    answer_format="Give the code as one fenced code block tagged with its language.",
)
