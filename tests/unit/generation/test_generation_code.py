"""The code domain's generation rules: meta-prompts, the code validator, the clean-up, and drop counting."""

import asyncio

import pytest

from pytest_agorabench.generation.cleanup import clean
from pytest_agorabench.generation.code_format import BANNED_PHRASES, check_code, cut_test_block
from pytest_agorabench.generation.instance import Attempt, GenerationContext, reason_key
from pytest_agorabench.generation.prompts import build_prompt, domain_rules, prompt_fingerprint
from pytest_agorabench.generation.prompts.code import LANGUAGES, THEMES
from pytest_agorabench.generation.validators import validate
from pytest_agorabench.settings import get_setting
from pytest_agorabench.files import Journal

CODE = "```python\ndef f(x):\n    return x + 1\n```"
DEMO = {"instruction": "Write f(x) returning x + 1.", "response": CODE}


def test_themes_are_implementing_or_fixing_in_seven_languages():
    assert len(THEMES) == 14 and len(LANGUAGES) == 7
    for language in ("Python", "Java", "C++", "C", "JavaScript", "C#", "PHP"):
        assert sum(f" in {language} (" in theme for theme in THEMES) == 2
    assert sum(t.startswith("implementing") for t in THEMES) == sum(t.startswith("fixing") for t in THEMES) == 7
    assert domain_rules("code").themes == THEMES


def test_the_three_code_prompts_state_the_rules():
    theme = THEMES[8]
    ig = build_prompt(get_setting("code/instance_generation"), demos=[DEMO] * 3, theme=theme)
    assert theme in ig and "much harder" in ig and "fenced code block" in ig and ig.endswith("INPUT: ")
    assert "test cases" in ig  # the input may show tests; the output may not
    rg = build_prompt(get_setting("code/response_generation"), seed_row=DEMO)
    assert "INPUT: Write f(x) returning x + 1." in rg and "no explanation" in rg.lower() and rg.endswith("OUTPUT: ")
    qe = build_prompt(get_setting("code/quality_enhancement"), seed_row=DEMO)
    assert "Revised Answer:" in qe and "assert statements" in qe and CODE in qe


def test_code_prompts_have_their_own_fingerprints():
    prints = {prompt_fingerprint(get_setting(f"{d}/{m}")) for d in ("math", "code")
              for m in ("instance_generation", "response_generation", "quality_enhancement")}
    assert len(prints) == 6


@pytest.mark.parametrize(
    ("response", "key"),
    [
        (CODE, None),
        ("```js\nconst a = 1;\n```\n\n```js\nconsole.log(a);\n```", None),  # two blocks, nothing banned between
        ("def f(x):\n    return x + 1", "code_fences"),
        ("```python\ndef f(x):\n    return x + 1", "code_fences"),
        ("Here you go:\n```python\nx = 1\n```", "code_fence_position"),
        ("```python\nx = 1\n```\nDone.", "code_fence_position"),
        ("```python\nx = 1\n```\nExample Usage:\n```python\nprint(x)\n```", "code_banned_phrase"),
        ("```python\nx = 1\n```\nThis solution is fast.\n```\n```", "code_banned_phrase"),
    ],
)
def test_check_code(response, key):
    reason = check_code(response)
    assert (reason_key(reason) if reason else None) == key


def test_banned_phrases_inside_the_code_are_fine():
    for phrase in BANNED_PHRASES:
        assert check_code(f"```python\n# {phrase}\nx = 1\n```") is None


def test_validate_code_keeps_type_hints_and_applies_the_leak_check():
    assert validate("code", "q", "```python\ndef f(input: str) -> str:\n    return input\n```") is None
    assert reason_key(validate("code", "q", "```python\nx = 1\n```\n```\nINPUT: again\n```")) == "leak"


@pytest.mark.parametrize(
    ("text", "expected", "fired"),
    [
        (CODE[:-3] + "\n# Test the function\nprint(f(1))\n```", CODE, True),
        (CODE[:-3] + "\n# Example usage:\nprint(f(1))\n```\nIt prints 2.", CODE, True),
        (CODE[:-3] + "\n# Output: 2\n```", CODE, True),
        ("```js\nfunction f(x) { return x + 1; }\n// Tests\nconsole.log(f(1));\n```", "```js\nfunction f(x) { return x + 1; }\n```", True),
        (CODE[:-3] + "\n# Test\nprint(f(1))", CODE, True),  # the block was never closed: closed now
        ("```python\n# Example\nprint(1)\n```", None, False),  # nothing of the code would remain
        # A leading comment that looks like a marker is skipped; the trailing block after the code is cut.
        (
            "```python\n# Example of adding\ndef f(x):\n    return x + 1\n# Test it\nf(1)\n```",
            CODE.replace("python\n", "python\n# Example of adding\n"),
            True,
        ),
        (CODE + "\n# Tests are in another file.", None, False),  # after the block: not code
        ("```python\ndef tests_pass():\n    return True\n```", None, False),
    ],
)
def test_cut_test_block(text, expected, fired):
    out, applied = cut_test_block(text)
    assert applied is fired
    assert out == (expected if fired else text)


def test_clean_code_cuts_a_trailing_note_then_the_test_block():
    text = CODE[:-3] + "\n# Test\nprint(f(1))\n```\n\nNote: this runs in O(1)."
    assert clean("code", text) == (CODE, ["trailing_note", "test_block"])
    # A note that is followed by more code is not trailing.
    assert clean("code", "Note: fast\n" + CODE)[1] == []


def _ctx(tmp_path, setting="code/response_generation"):
    seeds = [{"id": f"s{i}", "instruction": f"Write f{i}(x).", "response": CODE} for i in range(3)]
    return GenerationContext(get_setting(setting), seeds, Journal(tmp_path / "j.jsonl"), seed=0,
                             demo_mix="intended", max_attempts=2)


def test_drops_are_counted_by_their_code_reason(tmp_path):
    c = _ctx(tmp_path)
    outputs = iter([
        Attempt("Sure! " + CODE + " [END]", "stop", 10, 5),  # fence not at the start
        Attempt(CODE + "\nExample usage:\n```python\nf(1)\n``` [END]", "stop", 10, 5),
        Attempt(CODE[:-3] + "\n# Test\nprint(f(1))\n``` [END]", "stop", 10, 5),
        Attempt(CODE[:-3] + "\n# Test\nprint(f(1))\n``` [END]", "stop", 10, 5),
    ])

    async def call(system, prompt):
        return next(outputs)

    dropped, _ = asyncio.run(c.produce(0, call))
    assert reason_key(dropped["dropped"]) == "code_banned_phrase"
    assert [reason_key(r) for r in dropped["attempt_reasons"]] == ["code_fence_position", "code_banned_phrase"]
    kept, _ = asyncio.run(c.produce(1, call))
    assert kept["response"] == CODE and kept["cleaned"] == ["test_block"]
