"""Validators that define which generated instances are kept (AGORABENCH.md 2.5).

Each check returns None (pass) or a reason ``"<key>: <detail>"``; drops are counted by ``<key>``.
A domain adds its own checks to ``DOMAIN_CHECKS``; length and leak apply to every domain.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable

from pytest_agorabench.generation.code_format import check_code
from pytest_agorabench.generation.prompts.base import (
    END_MARKER,
    EXAMPLE_MARKER,
    INPUT_MARKER,
    NEW_INSTANCE_HEADER,
    OUTPUT_MARKER,
    REVISED_ANSWER,
    REVISED_QUESTION,
)

CountTokens = Callable[[str], int]
DEFAULT_MAX_SEQ_LEN = 4096  # the student's packing length in the paper recipe
STUDENT_SYSTEM_LINE = "You are a helpful AI assistant."  # the training chat template's system line

_WORD = re.compile(r"\S+")


def estimate_tokens(text: str) -> int:
    """A tokenizer-free estimate: the larger of the word count and one token per 4 characters.

    English BPE text averages about 4 characters per token and never fewer tokens than words; dense
    maths/code can exceed this, so callers that know the student should pass its real counter.
    """
    return max(len(_WORD.findall(text)), math.ceil(len(text) / 4))


def render_chat(instruction: str, response: str) -> str:
    """A generic chat rendering (system line, user turn, assistant turn) with role headers, for counting."""
    return f"<|system|>\n{STUDENT_SYSTEM_LINE}\n<|user|>\n{instruction}\n<|assistant|>\n{response}\n<|end|>"


def check_length(
    instruction: str,
    response: str,
    *,
    count_tokens: CountTokens | None = None,
    max_seq_len: int = DEFAULT_MAX_SEQ_LEN,
) -> str | None:
    """The chat-formatted pair must fit the student's max sequence length."""
    n = (count_tokens or estimate_tokens)(render_chat(instruction, response))
    if n > max_seq_len:
        return f"too_long: {n} tokens > {max_seq_len}"
    return None


# Markers of our own layout plus the official template placeholders: seeing one in a response means the
# model echoed the prompt. Bare <input>/<output> are left out because they are legitimate HTML/XML.
LEAK_MARKERS = (
    INPUT_MARKER,
    OUTPUT_MARKER,
    EXAMPLE_MARKER,
    END_MARKER,
    NEW_INSTANCE_HEADER,
    REVISED_QUESTION,
    REVISED_ANSWER,
    "<input1>",
    "<input2>",
    "<input3>",
    "<output1>",
    "<output2>",
    "<output3>",
    "<input_theme>",
    "<first_word>",
)


def check_leak(response: str, *, case_sensitive: bool = True, markers: tuple[str, ...] = LEAK_MARKERS) -> str | None:
    """The response must not contain a prompt marker or placeholder.

    Case-sensitive by default: the official check ignores case and so rejects ordinary code such as
    the type hint ``input: str``; ``case_sensitive=False`` reproduces it.
    """
    haystack = response if case_sensitive else response.lower()
    for marker in markers:
        if (marker if case_sensitive else marker.lower()) in haystack:
            return f"leak: response contains {marker!r}"
    return None


def check_math(response: str) -> str | None:
    """Exactly one ``[RESULT]`` and one ``[/RESULT]``, and the response ends with ``[/RESULT]``."""
    opens, closes = response.count("[RESULT]"), response.count("[/RESULT]")
    if opens != 1 or closes != 1:
        return f"result_tags: expected one [RESULT] and one [/RESULT], found {opens} and {closes}"
    if not response.rstrip().endswith("[/RESULT]"):
        return "result_not_last: the response does not end with [/RESULT]"
    return None


# Domain -> checks on the response. A new domain adds its entry here.
DOMAIN_CHECKS: dict[str, tuple[Callable[[str], str | None], ...]] = {
    "math": (check_math,),
    "code": (check_code,),
    # AGORABENCH.md 2.5 defines no content check for instruction following: length and leak only.
    "instruction_following": (),
}


def validate(
    domain: str,
    instruction: str,
    response: str,
    *,
    count_tokens: CountTokens | None = None,
    max_seq_len: int = DEFAULT_MAX_SEQ_LEN,
    leak_case_sensitive: bool = True,
) -> str | None:
    """All checks for one instance, cheapest first; the first failure's reason, or None."""
    for check in DOMAIN_CHECKS.get(domain, ()):
        reason = check(response)
        if reason:
            return reason
    return check_leak(response, case_sensitive=leak_case_sensitive) or check_length(
        instruction, response, count_tokens=count_tokens, max_seq_len=max_seq_len
    )
