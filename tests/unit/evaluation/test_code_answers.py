"""From students' answers to programs: code extraction, demo stripping, HumanEval and MBPP program assembly."""

import pytest

from pytest_agorabench.evaluation.code_answers import (
    extract_code,
    humaneval_program,
    humaneval_solution,
    keep_definitions,
    mbpp_entry_point,
    mbpp_program,
    mbpp_question,
)

PROMPT = 'from typing import List\n\n\ndef total(xs: List[int]) -> int:\n    """ Sum of xs.\n    >>> total([1, 2])\n    3\n    """\n'


@pytest.mark.parametrize(
    ("completion", "code", "how"),
    [
        ("```python\ndef f():\n    return 1\n```", "def f():\n    return 1\n", "fenced"),
        ("Sure! Here it is:\n```py\ndef f():\n    return 1\n```\nIt returns one.", "def f():\n    return 1\n", "fenced"),
        ("```\ndef f():\n    return 1\n```", "def f():\n    return 1\n", "fenced"),  # untagged fence
        ("```python\ndef f():\n    return 1", "def f():\n    return 1\n", "fenced"),  # cut off before the fence closed
        ("def f():\n    return 1\n\nThis function returns one.", "def f():\n    return 1\n", "function"),
        ("Here is my answer.\nimport math\ndef f():\n    return math.pi", "import math\ndef f():\n    return math.pi\n", "function"),
        ("    return sum(xs)\n", "    return sum(xs)\n", "body"),
        ("I cannot help with that.", "I cannot help with that.\n", "raw"),
        ("", "", "raw"),
    ],
)
def test_extract_code_handles_the_ways_students_answer(completion, code, how):
    assert extract_code(completion) == (code, how)


def test_extract_code_prefers_the_python_block_that_defines_the_entry_point():
    completion = (
        "First a helper in shell:\n```bash\necho hi\n```\nUsage:\n```python\nprint(total([1]))\n```\n"
        "Solution:\n```python\ndef total(xs):\n    return sum(xs)\n```"
    )
    assert extract_code(completion, "total") == ("def total(xs):\n    return sum(xs)\n", "fenced")
    assert extract_code("```js\nfunction f() {}\n```")[0] == "function f() {}\n"  # only non-python: taken


def test_keep_definitions_drops_demonstrations_and_keeps_the_program():
    code = (
        "import math\nLIMIT = 10\n\n@staticmethod\ndef deco():\n    pass\n\nclass Box:\n    size = 2\n\n"
        "def f(x):\n    return x * LIMIT\n\nprint(f(2))\nassert f(1) == 10\nf(3)\n"
        "if __name__ == '__main__':\n    f(4)\n'''a docstring stays'''\n"
    )
    kept = keep_definitions(code)
    for piece in ("import math", "LIMIT = 10", "@staticmethod\ndef deco", "class Box", "def f(x)", "a docstring stays"):
        assert piece in kept
    for gone in ("print(f(2))", "assert f(1)", "f(3)", "__main__"):
        assert gone not in kept


def test_keep_definitions_leaves_code_that_does_not_parse_alone():
    assert keep_definitions("def f(:\n    pass\nprint(1)\n") == "def f(:\n    pass\nprint(1)\n"


def test_humaneval_whole_function_answers_replace_the_prompts_stub():
    solution, how = humaneval_solution(PROMPT, "```python\ndef total(xs):\n    return sum(xs)\n\nprint(total([5]))\n```", "total")
    assert how == "fenced"
    assert solution.startswith(PROMPT)  # the prompt's imports stay available
    assert solution.rstrip().endswith("return sum(xs)") and "print(" not in solution


def test_humaneval_body_answers_continue_the_prompt_and_stop_at_top_level_code():
    solution, how = humaneval_solution(PROMPT, "    return sum(xs)\n\nprint(total([1, 2]))\n", "total")
    assert how == "body" and solution == PROMPT + "    return sum(xs)\n\n"
    solution, how = humaneval_solution(PROMPT, "```python\n    return sum(xs)\n```", "total")
    assert how == "fenced_body" and solution == PROMPT + "    return sum(xs)\n"


def test_humaneval_program_runs_the_tests_on_the_entry_point():
    program, _ = humaneval_program(PROMPT, "    return sum(xs)\n", "def check(candidate):\n    assert candidate([2]) == 2\n", "total")
    assert program.rstrip().endswith("check(total)")
    compile(program, "program", "exec")


@pytest.mark.parametrize(
    ("tests", "name"),
    [
        (["assert add(1, 2) == 3"], "add"),
        (["assert set(common(a, b)) == set([1])"], "common"),  # builtins are skipped
        (["assert math.isclose(area(2), 12.56)"], "area"),
        (["assert len([]) == 0"], None),
        (["not python at all ("], None),
    ],
)
def test_mbpp_entry_point_is_the_first_non_builtin_call(tests, name):
    assert mbpp_entry_point(tests) == name


def test_mbpp_program_has_setup_solution_then_tests_without_the_students_demos():
    program, how = mbpp_program(
        "```python\ndef add(a, b):\n    return a + b\nprint(add(1, 1))\n```",
        ["assert add(1, 2) == 3"],
        setup="import math",
    )
    assert how == "fenced"
    assert program == "import math\n\ndef add(a, b):\n    return a + b\n\nassert add(1, 2) == 3\n"


def test_mbpp_question_lists_the_checks():
    question = mbpp_question("Add two numbers. ", ["assert add(1, 2) == 3 ", "assert add(0, 0) == 0"])
    assert question == "Add two numbers.\nThe function must satisfy these checks:\nassert add(1, 2) == 3\nassert add(0, 0) == 0"
