"""Converters for the code settings' hub datasets, registered into ``hub_formats.FORMATS`` on import.

Field names, as published on the hub:
- mbpp (google-research-datasets/mbpp, full): ``task_id``, ``text``, ``code``, ``test_list``,
  ``test_setup_code``, ``challenge_test_list``. The seed instruction is the task with its asserts (the form
  the MBPP benchmark puts to the student); the response is the code in a Python fence.
- xp3x (CohereForAI/xP3x): ``inputs``, ``targets``, ``language``, ``split``, ``template``, ``dataset``,
  ``config``. xP3x has no code/non-code column; ``is_code_row`` is our documented heuristic for the
  ``code`` subset: the row's language is ``code``, or its source dataset is a known code dataset, and in
  both cases its target must look like code (code-to-text tasks, whose target is prose, are left out).
- conala (neulab/conala, mined or curated): ``intent`` (and ``rewritten_intent`` in curated), ``snippet``.
  Quality enhancement refines the Stack Overflow pair as it stands: the snippet is not fenced here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pytest_agorabench.evaluation.code_answers import mbpp_question
from pytest_agorabench.seeds._rows import RowDropped
from pytest_agorabench.seeds.hub_formats import register_format, text_field

FENCE = "```"


def fenced(code: str, language: str = "python") -> str:
    code = code.replace("\r\n", "\n").strip("\n")
    if FENCE in code:
        raise RowDropped("fence_in_code")  # a fence inside would break the code validator's fence count
    return f"{FENCE}{language}\n{code}\n{FENCE}"


@register_format("mbpp", columns=("text", "code", "test_list", "test_setup_code"))
def _mbpp(row: Mapping[str, Any], subset: str | None) -> tuple[str, str]:
    text = text_field(row, "text")
    code = text_field(row, "code")
    tests = row.get("test_list")
    if not isinstance(tests, list) or not tests or not all(isinstance(t, str) and t.strip() for t in tests):
        raise RowDropped("bad_test_list")
    return mbpp_question(text, tests), fenced(code)


# Source datasets of xP3x whose rows pair a request with code (program synthesis and code completion).
_CODE_DATASETS = re.compile(r"mbpp|apps|conala|code_?contests|xlcost|great_?code|jupyter|humaneval|codeparrot", re.I)
_CODE_SIGNS = re.compile(
    r"^\s*(?:def |class |import |from \S+ import |#include|public |private |static |function |var |let |const |"
    r"return\b|for\s*\(|if\s*\(|while\s*\()|[;{}]\s*$|=>|\breturn\b",
    re.M,
)


def looks_like_code(text: str) -> bool:
    """At least two lines with a sign of code (a keyword opening a line, a brace or semicolon ending one)."""
    return len(_CODE_SIGNS.findall(text)) >= 2


def is_code_row(row: Mapping[str, Any]) -> bool:
    language, dataset = row.get("language"), row.get("dataset")
    from_code = (isinstance(language, str) and language.strip().lower() == "code") or (
        isinstance(dataset, str) and _CODE_DATASETS.search(dataset) is not None
    )
    target = row.get("targets")
    return from_code and isinstance(target, str) and looks_like_code(target)


def guess_language(code: str) -> str:
    """A fence tag from unmistakable signs; plain ``python`` is the default of these datasets."""
    if "#include" in code:
        return "cpp" if re.search(r"std::|cout|template\s*<", code) else "c"
    if re.search(r"\bpublic\s+(?:static\s+)?(?:class|void|int|String)\b", code):
        return "csharp" if "Console." in code or "using System" in code else "java"
    if "<?php" in code or re.search(r"\$\w+\s*=", code):
        return "php"
    if re.search(r"\bfunction\b|\bconst\s+\w+\s*=|=>|console\.log", code):
        return "javascript"
    return "python"


@register_format("xp3x", subsets={"code": is_code_row}, columns=("inputs", "targets", "language", "dataset"))
def _xp3x(row: Mapping[str, Any], subset: str | None) -> tuple[str, str]:
    instruction = text_field(row, "inputs")
    target = text_field(row, "targets")
    if subset == "code":
        return instruction, fenced(target, guess_language(target))
    return instruction, target


@register_format("conala", columns=("intent", "rewritten_intent", "snippet"))
def _conala(row: Mapping[str, Any], subset: str | None) -> tuple[str, str]:
    rewritten = row.get("rewritten_intent")
    if isinstance(rewritten, str) and rewritten.strip():
        intent = rewritten.strip()  # curated rows: the annotators' clearer wording of the question
    else:
        intent = text_field(row, "intent")
    return intent, text_field(row, "snippet")
