"""The ``json`` meta-prompts (AGORABENCH.md 2.6, paper Table 5) and their parser, in our wording.

The requirement sections are the default's; the output is one JSON object instead of the INPUT/OUTPUT
layout, and the demonstrations are shown as JSON. Instance generation and quality enhancement ask for
the keys ``instruction`` and ``response``; response generation only for ``response``, since the
instruction is the seed's (AGORABENCH.md 2.3). Many models wrap JSON in a code fence although told not
to: the parser strips one fence first and the row records it, so a run reports how many needed it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence

from pytest_agorabench.generation.prompts.base import (
    EXAMPLE_MARKER,
    INPUT_MARKER,
    NEW_INSTANCE_HEADER,
    QE_INTRO,
    DomainRules,
    bullets,
    requirement_sections,
    this_example,
)

KEYS_BOTH = ("instruction", "response")
KEYS_RESPONSE = ("response",)


def _format_rules(keys: Sequence[str]) -> str:
    names = " and ".join(f'"{k}"' for k in keys)
    shape = f"whose keys are {names}, each a string" if len(keys) > 1 else f"whose only key is {names}, a string"
    return "## Format\n" + bullets(
        (
            f"Reply with exactly one JSON object {shape}.",
            "Write nothing before or after the object: no greeting, remark or code fence.",
            "Escape newlines, quotes and backslashes inside the strings as JSON requires.",
        )
    )


def _as_json(**fields: str) -> str:
    return json.dumps({k: v.strip() for k, v in fields.items()}, ensure_ascii=False)


def instance_generation_prompt(
    rules: DomainRules, demos: Sequence[Mapping[str, str]], theme: str, opening: str | None = None
) -> str:
    sections = [
        "## General guideline\n"
        f'Below are {len(demos)} examples, each a JSON object whose "instruction" is {rules.input_noun} and '
        f'whose "response" is {rules.output_noun}. Write one new example of the same kind from fresh ideas: '
        "it must not be a reworded or lightly altered copy of any example.",
        *requirement_sections(rules, theme, opening, "instruction", "response"),
        _format_rules(KEYS_BOTH),
        this_example(theme, opening, "instruction"),
    ]
    for k, demo in enumerate(demos, start=1):
        sections.append(f"{EXAMPLE_MARKER} {k}]\n" + _as_json(instruction=demo["instruction"], response=demo["response"]))
    sections.append(NEW_INSTANCE_HEADER)
    return "\n\n".join(sections)


def response_generation_prompt(rules: DomainRules, instruction: str) -> str:
    return (
        f"{rules.rg_task}\n\n## Requirements for the response\n{bullets(rules.rg_rules)}\n\n"
        f"{_format_rules(KEYS_RESPONSE)}\n\n{INPUT_MARKER} {instruction.strip()}\n"
    )


def quality_enhancement_prompt(rules: DomainRules, question: str, answer: str) -> str:
    return (
        QE_INTRO
        + '## Requirements for the revised answer (the "response")\n' + bullets(rules.qe_answer_rules) + "\n\n"
        + _format_rules(KEYS_BOTH)
        + '\n- The "instruction" is the improved question, the "response" the improved answer.\n\n'
        "## Original pair\n" + _as_json(question=question, answer=answer) + "\n"
    )


_FENCE = re.compile(r"^```[A-Za-z0-9_-]*[ \t]*\n(.*?)\n?```\s*$", re.DOTALL)


def strip_fence(text: str) -> tuple[str, bool]:
    """The text inside one surrounding code fence (``json`` tag or none), and whether there was one."""
    match = _FENCE.match(text.strip())
    return (match.group(1), True) if match else (text, False)


def parse_json_object(text: str, keys: Sequence[str]) -> tuple[dict[str, str], bool] | str:
    """(fields, fence stripped) or a failure reason ``"<key>: <detail>"``. Strict ``json.loads``."""
    if not text.strip():
        return "empty_output: the model returned no text"
    body, fenced = strip_fence(text)
    body = body.strip()
    # The stop string may survive in the completion when the provider does not strip it.
    if body.endswith("[END]"):
        body = body[: -len("[END]")].rstrip()
    try:
        value = json.loads(body)
    except json.JSONDecodeError as exc:
        return f"json_invalid: {exc.msg} at line {exc.lineno} column {exc.colno}"
    if not isinstance(value, dict):
        return f"json_not_object: got a JSON {type(value).__name__}"
    missing = [k for k in keys if not isinstance(value.get(k), str) or not value[k].strip()]
    if missing:
        return f"json_keys: missing or empty string for {', '.join(missing)}"
    return {k: value[k].strip() for k in keys}, fenced
