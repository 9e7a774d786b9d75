"""The code domain's validator and clean-up rule (AGORABENCH.md 2.5), used by validators.py and cleanup.py.

A code response is fenced code: it starts and ends with a fence, has an even number of fences, and the text
outside the fences holds none of the phrases that mark an explanation or a demonstration instead of code.
"""

from __future__ import annotations

import re

FENCE = "```"

# Phrases that, outside the code, show the generator explained or demonstrated instead of answering
# with code only. Compared case-insensitively.
BANNED_PHRASES = (
    "example usage",
    "this function",
    "test the function",
    "test cases",
    "this implementation",
    "explanation",
    "this solution",
)


def outside_fences(response: str) -> str:
    """The text between fenced blocks (every other piece when splitting on the fence)."""
    return "\n".join(response.split(FENCE)[0::2])


def check_code(response: str) -> str | None:
    """None when ``response`` is fenced code only; else ``"<key>: <detail>"`` (key counts the drop)."""
    fences = response.count(FENCE)
    if fences == 0 or fences % 2:
        return f"code_fences: expected an even, non-zero number of {FENCE} fences, found {fences}"
    text = response.strip()
    if not text.startswith(FENCE) or not text.endswith(FENCE):
        return "code_fence_position: the response must start and end with a code fence"
    outside = outside_fences(text).lower()
    for phrase in BANNED_PHRASES:
        if phrase in outside:
            return f"code_banned_phrase: {phrase!r} outside the code block"
    return None


# A comment line that opens a block of tests, examples or expected output: "# Test", "# Example usage:",
# "// Output". Comments in the seven theme languages start with # (Python, PHP) or // (the C family, JS).
_TEST_BLOCK = re.compile(
    r"^[ \t]*(?:#|//)[ \t]*(?:tests?|testing|test cases?|examples?|example usage|sample usage|usage|"
    r"outputs?|expected output|sample output)\b",
    re.IGNORECASE | re.MULTILINE,
)


def cut_test_block(text: str) -> tuple[str, bool]:
    """Cut the last code block at a trailing test/example/output comment block and close the fence again.

    Everything from the comment line to the end goes (prose after the block too). Not applied when the
    comment is the block's first line (no code would remain) or lies outside the last block.
    """
    fences = [m.start() for m in re.finditer(re.escape(FENCE), text)]
    if not fences:
        return text, False
    # The last block opens at the second-to-last fence, or at the last one when it was never closed.
    open_at = fences[-2] if len(fences) % 2 == 0 else fences[-1]
    body_start = text.find("\n", open_at)
    if body_start < 0:
        return text, False
    for match in _TEST_BLOCK.finditer(text, body_start + 1):
        head = text[: match.start()].rstrip()
        if head.count(FENCE) % 2 == 0:
            return text, False  # past the block's closing fence: prose, not code
        if text[body_start : match.start()].strip():  # code precedes it: the rest is the trailing block
            return f"{head}\n{FENCE}", True
    return text, False
