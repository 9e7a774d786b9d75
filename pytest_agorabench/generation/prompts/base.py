"""Shared meta-prompt layout for the three generation methods (AGORABENCH.md 2.1-2.4).

All wording here is ours, written from the protocol's rules. A domain supplies only its rules and themes
(a ``DomainRules`` in ``prompts/<domain>.py``); the layout, markers and format rules live here once, so
the parser and the leak validator can rely on the same markers for every domain.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

# Markers the parser splits on and the leak validator looks for. Change them here only.
INPUT_MARKER = "INPUT:"
OUTPUT_MARKER = "OUTPUT:"
END_MARKER = "[END]"
EXAMPLE_MARKER = "[EXAMPLE"
NEW_INSTANCE_HEADER = "[YOUR NEW EXAMPLE]"
REVISED_QUESTION = "Revised Question:"
REVISED_ANSWER = "Revised Answer:"

NUM_DEMOS = 3  # demonstrations per instance-generation call (AGORABENCH.md 2.2)

SYSTEM_MESSAGE = (
    "You are a training-data generator: following the guidelines and examples you are given, "
    "you write one new instance that meets every requirement."
)


@dataclass(frozen=True)
class DomainRules:
    """What one domain contributes to the meta-prompts. Rule lines are bullet points without the bullet.

    Rule lines may use ``{theme}`` and ``{opening}``; the builder fills them (other braces stay literal).
    """

    domain: str
    input_noun: str  # what an INPUT is, e.g. "a math problem"
    output_noun: str  # what an OUTPUT is, e.g. "its step-by-step solution"
    themes: tuple[str, ...]
    ig_input_rules: tuple[str, ...]
    ig_output_rules: tuple[str, ...]
    rg_task: str  # one sentence: what to do with the INPUT
    rg_rules: tuple[str, ...]
    qe_answer_rules: tuple[str, ...]  # domain rules for the revised answer
    openings: tuple[str, ...] = ()  # sampled first word of a new instruction (instruction following)
    # The one format line the validators need, for the variants without detailed rules (unoptimized).
    answer_format: str = ""


def bullets(lines: Sequence[str], **fill: str) -> str:
    # Plain replacement, not str.format: rule texts may contain literal braces (\\boxed{}, code).
    out = []
    for line in lines:
        for name, value in fill.items():
            line = line.replace("{" + name + "}", value)
        out.append(f"- {line}")
    return "\n".join(out)


# Format rules shared by every domain: they are what the parser depends on.
_IG_FORMAT_RULES = (
    "Start straight away with the input itself: no greeting, preamble or remarks about the task.",
    f'Between the input and the output put a newline followed by "{OUTPUT_MARKER}".',
    f'After the output write a newline followed by "{END_MARKER}" and stop there.',
)


def requirement_sections(
    rules: DomainRules, theme: str, opening: str | None, input_name: str, output_name: str
) -> tuple[str, str]:
    """The instance-generation rule sections, shared by the variants that keep the rules."""
    fill = {"theme": theme, "opening": opening or ""}
    return (
        f"## Requirements for the {input_name}\n" + bullets(rules.ig_input_rules, **fill),
        f"## Requirements for the {output_name}\n" + bullets(rules.ig_output_rules, **fill),
    )


def this_example(theme: str, opening: str | None, input_name: str) -> str:
    """What changes from call to call (theme, opening words), after the rules every call shares: a batch of
    calls then starts with one long common prefix, which an engine prefills once (our provider, vllm's
    prefix caching, an API's prompt cache). The demonstrations, also drawn per call, follow."""
    lines = [f"Theme: {theme}"]
    if opening:
        lines.append(f'Begin the {input_name} with "{opening}".')
    return "## This example\n" + bullets(lines)


def instance_generation_prompt(
    rules: DomainRules,
    demos: Sequence[Mapping[str, str]],
    theme: str,
    opening: str | None = None,
) -> str:
    """Guideline + requirement sections, the demonstrations, then a dangling ``INPUT: `` to continue."""
    n = len(demos)
    sections = [
        "## General guideline\n"
        f"Below are {n} examples. Each one is an {INPUT_MARKER.rstrip(':')} ({rules.input_noun}) followed by "
        f"its {OUTPUT_MARKER.rstrip(':')} ({rules.output_noun}). Write one new example of the same kind. "
        "Build it from fresh ideas: it must not be a reworded or lightly altered copy of any example.",
        *requirement_sections(rules, theme, opening, "input", "output"),
        "## Format\n" + bullets(_IG_FORMAT_RULES),
        this_example(theme, opening, "input"),
    ]
    for k, demo in enumerate(demos, start=1):
        sections.append(
            f"{EXAMPLE_MARKER} {k}]\n"
            f"{INPUT_MARKER} {demo['instruction'].strip()}\n"
            f"{OUTPUT_MARKER} {demo['response'].strip()}\n"
            f"{END_MARKER}"
        )
    # The dangling marker makes the model continue with the new input directly.
    sections.append(f"{NEW_INSTANCE_HEADER}\n{INPUT_MARKER} ")
    return "\n\n".join(sections)


def response_generation_prompt(rules: DomainRules, instruction: str) -> str:
    """A short rule block, then the seed instruction and a dangling ``OUTPUT: ``."""
    rule_block = bullets((*rules.rg_rules, f'When the output is complete, append " {END_MARKER}" and stop.'))
    return (
        f"{rules.rg_task}\n\n## Requirements\n{rule_block}\n\n{INPUT_MARKER} {instruction.strip()}\n\n{OUTPUT_MARKER} "
    )


QE_GENERAL_RULES = (
    "Formatting: repair broken layout, markup and leftovers of the web page, so the pair reads cleanly.",
    "Coherence and conciseness: make the question clear and self-contained and the answer direct and "
    "well ordered, without filler or repetition.",
    "Completeness and accuracy: supply steps or facts the answer needs but skips. Change what it claims "
    "only where you are certain it is wrong; otherwise keep its content.",
)
# The request and the general improvement rules, shared by the variants that keep the rules.
QE_INTRO = (
    "Below is a question and its answer, collected from a web page. Improve them into one clean "
    "training example.\n\n"
    "## What to improve\n" + bullets(QE_GENERAL_RULES) + "\n\n"
)


def quality_enhancement_prompt(rules: DomainRules, question: str, answer: str) -> str:
    """Ask for exactly one refined pair in the ``Revised Question:`` / ``Revised Answer:`` / ``[END]`` form."""
    return (
        QE_INTRO
        + "## Requirements for the revised answer\n" + bullets(rules.qe_answer_rules) + "\n\n"
        "## Format\n"
        "Reply with exactly one revised pair and nothing else, laid out as:\n"
        f"{REVISED_QUESTION} <the improved question>\n"
        f"{REVISED_ANSWER} <the improved answer> {END_MARKER}\n\n"
        "## Original pair\n"
        f"Question: {question.strip()}\n\n"
        f"Answer: {answer.strip()}\n"
    )
