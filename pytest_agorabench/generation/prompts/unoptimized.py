"""The ``unoptimized`` meta-prompts (AGORABENCH.md 2.6, paper Table 5): a plain request, our wording.

Same demonstrations, theme and opening as the default, and the same INPUT/OUTPUT/[END] layout so the
default parser applies; no guideline or requirement sections. The only rule kept is the domain's
``answer_format`` line, because the validators (result tags, one code fence) define what data counts:
without it the variant would measure the validators, not the prompt.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pytest_agorabench.generation.prompts.base import (
    END_MARKER,
    EXAMPLE_MARKER,
    INPUT_MARKER,
    NEW_INSTANCE_HEADER,
    OUTPUT_MARKER,
    REVISED_ANSWER,
    REVISED_QUESTION,
    DomainRules,
)


def _format_line(rules: DomainRules) -> str:
    return f"{rules.answer_format}\n" if rules.answer_format else ""


def instance_generation_prompt(
    rules: DomainRules, demos: Sequence[Mapping[str, str]], theme: str, opening: str | None = None
) -> str:
    start = f' Start the new {INPUT_MARKER.rstrip(":")} with "{opening}".' if opening else ""
    parts = [
        f"Here are some examples of {rules.input_noun} ({INPUT_MARKER.rstrip(':')}) with "
        f"{rules.output_noun} ({OUTPUT_MARKER.rstrip(':')}). Write a new one about {theme}.{start}\n"
        + _format_line(rules)
        + f"Use the same layout: {INPUT_MARKER} ..., then {OUTPUT_MARKER} ..., then {END_MARKER}."
    ]
    for k, demo in enumerate(demos, start=1):
        parts.append(
            f"{EXAMPLE_MARKER} {k}]\n{INPUT_MARKER} {demo['instruction'].strip()}\n"
            f"{OUTPUT_MARKER} {demo['response'].strip()}\n{END_MARKER}"
        )
    parts.append(f"{NEW_INSTANCE_HEADER}\n{INPUT_MARKER} ")
    return "\n\n".join(parts)


def response_generation_prompt(rules: DomainRules, instruction: str) -> str:
    return f"{rules.rg_task}\n{_format_line(rules)}\n{INPUT_MARKER} {instruction.strip()}\n\n{OUTPUT_MARKER} "


def quality_enhancement_prompt(rules: DomainRules, question: str, answer: str) -> str:
    return (
        "Improve this question and answer from a web page.\n"
        + _format_line(rules)
        + f"Reply as:\n{REVISED_QUESTION} ...\n{REVISED_ANSWER} ... {END_MARKER}\n\n"
        f"Question: {question.strip()}\n\nAnswer: {answer.strip()}\n"
    )
