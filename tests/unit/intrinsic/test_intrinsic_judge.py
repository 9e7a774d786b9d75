"""Rubric prompts, score parsing, and the judge run through inspect with a scripted judge."""

from __future__ import annotations

import textwrap

import pytest

from pytest_agorabench.intrinsic.judge_scores import EMPTY_INPUT, judge_scores
from pytest_agorabench.intrinsic.rubrics import (
    DIFFICULTY,
    DOMAINS,
    EMPTY,
    ERROR,
    OUT_OF_RANGE,
    QUALITY,
    REFUSAL,
    RUBRICS,
    UNPARSEABLE,
    judge_prompt,
    parse_score,
    prompt_version,
)


@pytest.mark.parametrize(
    "reply, score, failure",
    [
        ("Clear and correct.\nScore: 4", 4, None),
        ("Score: 2\nOn reflection...\nScore: 3", 3, None),  # the last score line wins
        ("**Score:** 5/5", 5, None),
        ("score = 1", 1, None),
        ("4", 4, None),
        ("Score: 7", None, OUT_OF_RANGE),
        ("Score: 0", None, OUT_OF_RANGE),
        ("Score: 3.5", None, OUT_OF_RANGE),
        ("It is quite good overall.", None, UNPARSEABLE),
        ("I'm sorry, I cannot grade this.", None, REFUSAL),
        ("   ", None, EMPTY),
        (None, None, EMPTY),
    ],
)
def test_parse_score(reply, score, failure):
    grade = parse_score(reply)
    assert (grade.score, grade.failure) == (score, failure)


def test_every_domain_has_five_levels_for_both_kinds_and_prompts_carry_the_data():
    for domain in DOMAINS:
        for kind in (DIFFICULTY, QUALITY):
            assert len(RUBRICS[(kind, domain)]) == 5
            assert [line[:2] for line in RUBRICS[(kind, domain)]] == ["1:", "2:", "3:", "4:", "5:"]
    difficulty = judge_prompt(DIFFICULTY, "code", "Reverse a linked list.", "ignored answer")
    assert "write a hard programming problem" in difficulty and "Reverse a linked list." in difficulty
    assert "ignored answer" not in difficulty and RUBRICS[(DIFFICULTY, "code")][4] in difficulty
    quality = judge_prompt(QUALITY, "math", "What is 2+2?", "4")
    assert "What is 2+2?" in quality and "<response>\n4\n</response>" in quality and "Score: N" in quality
    with pytest.raises(ValueError, match="no rubric"):
        judge_prompt(QUALITY, "poetry", "x", "y")
    assert len(prompt_version()) == 16


SCRIPT = textwrap.dedent(
    '''
    def grader(messages, config):
        text = messages[-1]["content"]
        assert config.get("temperature") == 0.0
        if "EXPLODE" in text:
            raise RuntimeError("provider down")
        if "MUMBLE" in text:
            return "It reads fine to me."
        if "SEVEN" in text:
            return "Score: 7"
        # difficulty prompts get 2, quality prompts 4: the kind reaches the judge
        return "Reasons.\\nScore: " + ("2" if "write a hard" in text else "4")
    '''
)


@pytest.fixture
def judge(tmp_path):
    path = tmp_path / "judge_script.py"
    path.write_text(SCRIPT)
    return f"agora-script/{path}:grader"


def test_grades_and_failures_are_counted_per_row(judge, tmp_path):
    rows = [
        {"instruction": "Integrate x^2.", "response": "x^3/3 + C"},
        {"instruction": "EXPLODE", "response": "x"},
        {"instruction": "MUMBLE", "response": "x"},
        {"instruction": "SEVEN", "response": "x"},
        {"instruction": "Prove it.", "response": ""},
    ]
    quality = judge_scores(rows, "math", QUALITY, judge, log_dir=tmp_path / "logs")
    assert quality.per_example == [4, None, None, None, None]
    assert quality.failures == {ERROR: 1, UNPARSEABLE: 1, OUT_OF_RANGE: 1, EMPTY_INPUT: 1}
    assert quality.mean == 4 and "provider down" in quality.error
    assert quality.input_tokens > 0 and quality.log.endswith(".eval")
    difficulty = judge_scores(rows, "math", DIFFICULTY, judge, log_dir=tmp_path / "logs")
    assert difficulty.per_example == [2, None, None, None, 2]  # an empty response does not stop a difficulty grade


def test_a_judge_that_cannot_run_counts_every_row_and_does_not_raise(tmp_path):
    rows = [{"instruction": "a", "response": "b"}] * 3
    result = judge_scores(rows, "code", QUALITY, "agora-script/no_such_module_xyz:fn", log_dir=tmp_path)
    assert result.per_example == [None] * 3 and result.failures == {ERROR: 3}
    assert "no_such_module_xyz" in result.error


def test_bad_kind_or_domain_is_a_clear_error_before_any_call(judge):
    with pytest.raises(ValueError, match="unknown judge kind"):
        judge_scores([], "math", "style", judge)
    with pytest.raises(ValueError, match="no rubric"):
        judge_scores([], "poetry", QUALITY, judge)


def test_the_rubric_comes_before_the_row_so_one_rubric_shares_a_prefix():
    for kind in (DIFFICULTY, QUALITY):
        a, b = judge_prompt(kind, "math", "What is 2+2?", "4"), judge_prompt(kind, "math", "Name a prime.", "7")
        shared = next(i for i, (x, y) in enumerate(zip(a, b)) if x != y)
        assert RUBRICS[(kind, "math")][4] in a[:shared] and "Score: N" in a[:shared]
        assert a[shared - 1] == "\n" and a[:shared].rstrip().endswith(("<problem>", "<request>"))


def test_a_structured_judge_always_ends_on_a_grade(tmp_path):
    """Held to the grade line, even a random model grades every row; left free, it does not."""
    from tests.unit.providers.conftest import build_byte_level_checkpoint

    path = build_byte_level_checkpoint(tmp_path / "judge")
    rows = [{"instruction": f"Add {i} and {i + 1}.", "response": str(2 * i + 1)} for i in range(4)]
    free = judge_scores(rows, "math", QUALITY, f"agora/{path}", max_tokens=16, log_dir=tmp_path / "logs")
    held = judge_scores(rows, "math", QUALITY, f"agora/{path}", max_tokens=16, log_dir=tmp_path / "logs", structured=True)
    assert held.failures == {} and all(score in range(1, 6) for score in held.per_example)
    assert sum(score is not None for score in free.per_example) < len(rows)
