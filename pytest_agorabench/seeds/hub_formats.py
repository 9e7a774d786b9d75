"""Converters from each hub dataset's row layout to seed rows, registered by the ``format`` names of settings.py.

A converter takes one raw row (a mapping of the dataset's columns) and the source's subset, and returns
``(instruction, response)`` or raises ``RowDropped(reason)``; ``hub.py`` counts every reason. Adding a dataset
(the code formats live in seeds/code_formats.py) is one decorated function::

    @register_format("mbpp", columns=("text", "code"))
    def _mbpp(row, subset): ...

Field names, as published on the hub (see the report of the issue that added each format):
- gsm8k (openai/gsm8k, main): ``question``, ``answer`` ending in a ``#### n`` line.
- hendrycks_math (EleutherAI/hendrycks_math, one config per subject): ``problem``, ``level``, ``type``,
  ``solution`` with the final answer in ``\\boxed{...}``.
- magpie (Magpie-Align/Magpie-Reasoning-150K, Magpie-Pro-300K-Filtered): ``instruction``, ``response``,
  ``conversations`` (``from``/``value`` turns), ``task_category`` ("Math", "Coding & Debugging", ...).
- webinstruct (TIGER-Lab/WebInstructSub): ``question``, ``answer``, ``source`` (the web site). The dataset
  has no math/non-math column; ``is_math_question`` is our documented heuristic for the two subsets.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pytest_agorabench.hub_datasets import MATH_SUBJECTS
from pytest_agorabench.seeds._rows import RowDropped, SeedError, with_result_tag

Converter = Callable[[Mapping[str, Any], "str | None"], tuple[str, str]]
SubsetFilter = Callable[[Mapping[str, Any]], bool]


@dataclass(frozen=True)
class HubFormat:
    name: str
    convert: Converter
    subsets: Mapping[str, SubsetFilter] = field(default_factory=dict)
    configs: tuple[str, ...] = ()  # configs to read when the HubSource names none (e.g. MATH's 7 subjects)
    columns: tuple[str, ...] = ()  # columns the converter reads; others are not decoded (empty: all)


FORMATS: dict[str, HubFormat] = {}


def register_format(
    name: str,
    *,
    subsets: Mapping[str, SubsetFilter] | None = None,
    configs: tuple[str, ...] = (),
    columns: tuple[str, ...] = (),
) -> Callable[[Converter], Converter]:
    def decorate(fn: Converter) -> Converter:
        if name in FORMATS:
            raise ValueError(f"hub format {name!r} is registered twice")
        FORMATS[name] = HubFormat(name, fn, dict(subsets or {}), configs, columns)
        return fn

    return decorate


def get_format(name: str) -> HubFormat:
    try:
        return FORMATS[name]
    except KeyError:
        hint = difflib.get_close_matches(name, list(FORMATS), n=1)
        did_you_mean = f" Did you mean {hint[0]!r}?" if hint else ""
        raise SeedError(
            f"no converter for hub format {name!r}.{did_you_mean} Known formats: {', '.join(sorted(FORMATS))}"
        ) from None


def check_subset(fmt: HubFormat, subset: str | None) -> None:
    if subset is not None and subset not in fmt.subsets:
        known = ", ".join(sorted(fmt.subsets)) or "none"
        raise SeedError(f"hub format {fmt.name!r} has no subset {subset!r} (known subsets: {known})")


def convert_row(fmt: HubFormat | str, row: Mapping[str, Any], subset: str | None = None) -> tuple[str, str]:
    """``(instruction, response)`` for one raw row, or RowDropped (outside the subset, or not convertible)."""
    fmt = get_format(fmt) if isinstance(fmt, str) else fmt
    check_subset(fmt, subset)
    if subset is not None and not fmt.subsets[subset](row):
        raise RowDropped(f"not_in_subset:{subset}")
    return fmt.convert(row, subset)


def text_field(row: Mapping[str, Any], key: str) -> str:
    """A required non-empty string column, stripped."""
    if key not in row or row[key] is None:
        raise RowDropped(f"missing_field:{key}")
    value = row[key]
    if not isinstance(value, str):
        raise RowDropped(f"not_text:{key}")
    value = value.strip()
    if not value:
        raise RowDropped(f"empty_field:{key}")
    return value


# ---------------------------------------------------------------- math answers


_BOX_RE = re.compile(r"\\(?:boxed|fbox)\b")


def last_boxed(text: str) -> str | None:
    """Content of the last complete ``\\boxed{...}`` / ``\\fbox{...}`` (balanced braces), or None."""
    for match in reversed(list(_BOX_RE.finditer(text))):
        rest = text[match.end() :]
        stripped = rest.lstrip()
        if stripped.startswith("{"):
            depth = 0
            for i, ch in enumerate(stripped):
                depth += ch == "{"
                depth -= ch == "}"
                if depth == 0:
                    return stripped[1:i].strip() or None
            continue  # unbalanced: try an earlier box
        if rest[:1].isspace() and stripped:
            # MATH occasionally writes "\boxed 5": the argument is the next token.
            return re.split(r"[\s$]", stripped, maxsplit=1)[0] or None
    return None


_CALC_RE = re.compile(r"<<[^<>]*>>")
_THOUSANDS_RE = re.compile(r"^-?\d{1,3}(?:,\d{3})+(?:\.\d+)?$")


@register_format("gsm8k", columns=("question", "answer"))
def _gsm8k(row: Mapping[str, Any], subset: str | None) -> tuple[str, str]:
    question = text_field(row, "question")
    answer = text_field(row, "answer")
    steps, sep, final = answer.rpartition("####")
    if not sep:
        raise RowDropped("no_final_answer_line")
    final = final.strip()
    if _THOUSANDS_RE.match(final):
        final = final.replace(",", "")  # "no decorations inside the tag" (AGORABENCH.md 2.2)
    # The <<a*b=c>> calculator annotations are GSM8K tooling, not part of the worked solution.
    steps = "\n".join(line.rstrip() for line in _CALC_RE.sub("", steps).strip().splitlines())
    return question, with_result_tag(steps, final)


@register_format("hendrycks_math", configs=MATH_SUBJECTS, columns=("problem", "solution", "level", "type"))
def _hendrycks_math(row: Mapping[str, Any], subset: str | None) -> tuple[str, str]:
    problem = text_field(row, "problem")
    solution = text_field(row, "solution")
    boxed = last_boxed(solution)
    if boxed is None:
        raise RowDropped("no_boxed_answer")
    return problem, with_result_tag(solution, boxed)


# ---------------------------------------------------------------- magpie

MAGPIE_CATEGORIES = {"math": "math", "coding": "coding & debugging"}


def _magpie_category(wanted: str) -> SubsetFilter:
    def keep(row: Mapping[str, Any]) -> bool:
        category = row.get("task_category")
        return isinstance(category, str) and category.strip().lower() == wanted

    return keep


def _magpie_turns(row: Mapping[str, Any]) -> tuple[str, str]:
    """First human turn and the reply to it, for rows that carry only ``conversations``."""
    turns = row.get("conversations")
    if not isinstance(turns, list) or len(turns) < 2:
        raise RowDropped("missing_field:instruction")
    first, second = turns[0], turns[1]
    if not (isinstance(first, Mapping) and isinstance(second, Mapping)):
        raise RowDropped("bad_conversations")
    if first.get("from") not in ("human", "user") or second.get("from") not in ("gpt", "assistant"):
        raise RowDropped("bad_conversations")
    return text_field(first, "value"), text_field(second, "value")


@register_format(
    "magpie",
    subsets={name: _magpie_category(value) for name, value in MAGPIE_CATEGORIES.items()},
    columns=("instruction", "response", "conversations", "task_category"),
)
def _magpie(row: Mapping[str, Any], subset: str | None) -> tuple[str, str]:
    if row.get("instruction") is None and row.get("response") is None and row.get("conversations"):
        instruction, response = _magpie_turns(row)
    else:
        instruction, response = text_field(row, "instruction"), text_field(row, "response")
    if subset == "math":
        # Response generation ignores seed responses, but the "gold" reference trains on them: give the
        # ones that state a boxed answer the result tag the math benchmarks read. Others stay as written.
        boxed = last_boxed(response)
        if boxed is not None and "[RESULT]" not in response:
            response = with_result_tag(response, boxed)
    return instruction, response


# ---------------------------------------------------------------- webinstruct

# Signals for the math / non-math split of WebInstructSub, which has no subject column. A question is math
# when its source is a math site, or when math signals number at least two and outnumber signals of other
# subjects (sciences, economics, humanities). Socratic and study-style sites write {eq}/#...# around any
# formula, so those delimiters are not math signals.
_MATH_WORDS = re.compile(
    r"\b(?:solve|simplify|evaluate|equations?|inequalit(?:y|ies)|integrals?|integrate|derivatives?|"
    r"differentiate|limit|polynomials?|factori[sz]e|probability|matri(?:x|ces)|eigen\w*|vectors?|theorem|"
    r"prove|proof|lemma|primes?|divisible|divisors?|gcd|lcm|triangles?|circles?|angles?|radius|perimeter|"
    r"area|volume|fractions?|percent(?:age)?|ratio|sequences?|series|functions?|logarithms?|log|ln|sin|cos|"
    r"tan|algebra\w*|geometr\w*|calculus|arithmetic|remainder|integers?|rational|irrational|"
    r"real numbers?|complex numbers?|convergen\w*|subsets?|graph of|slope|intercept|quadratic|roots?|"
    r"combinations?|permutations?|how many ways|dice|deck|coins?|replacement)\b",
    re.IGNORECASE,
)
_MATH_SYMBOLS = re.compile(
    r"\$[^$]+\$|\\\(|\\\[|\\(?:frac|sqrt|int|sum|prod|lim|infty|mathbb|cdot|leq|geq|binom|pi)\b|"
    r"\b[a-z]\s*\^\s*\{?\d|\b[a-z]\(\s*[a-z]\s*\)|\d\s*[-+*/×÷]\s*\d|\b[a-z]\s*[-+*/=]\s*\d"
)
_OTHER_WORDS = re.compile(
    r"\b(?:molecules?|molar|moles?|reactions?|acids?|ions?|ionic|electrons?|atoms?|compounds?|chemical|"
    r"enzymes?|cells?|dna|rna|proteins?|genes?|species|organisms?|photosynthesis|economy|gdp|demand|supply|"
    r"market|tax(?:es)?|revenue|company|journal entry|accounting|history|war|president|poem|novel|author|"
    r"sentence|grammar|velocity|acceleration|force|momentum|voltage|circuit|magnetic|frequency|newtons?|"
    r"joules?|wavelength|temperature|pressure|heat)\b",
    re.IGNORECASE,
)


def is_math_question(row: Mapping[str, Any]) -> bool:
    """Our heuristic math / non-math label for a WebInstructSub row (question text, plus its source)."""
    source = row.get("source")
    if isinstance(source, str) and "math" in source.lower():
        return True
    question = row.get("question")
    if not isinstance(question, str):
        return False
    math_signals = len(_MATH_WORDS.findall(question)) + len(_MATH_SYMBOLS.findall(question))
    other_signals = len(_OTHER_WORDS.findall(question))
    return math_signals >= 2 and math_signals > other_signals


@register_format(
    "webinstruct",
    subsets={"math": is_math_question, "non_math": lambda row: not is_math_question(row)},
    columns=("question", "answer", "source"),
)
def _webinstruct(row: Mapping[str, Any], subset: str | None) -> tuple[str, str]:
    # Quality enhancement refines the web answer as it stands: no result tag is forced on it here.
    return text_field(row, "question"), text_field(row, "answer")
