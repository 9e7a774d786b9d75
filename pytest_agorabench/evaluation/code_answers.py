"""From a student's answer to a runnable MBPP or HumanEval program (AGORABENCH.md section 4).

Students answer in several ways: a fenced block (maybe several, maybe in prose), a bare function, or (for
HumanEval) just the body that continues the prompt. ``extract_code`` finds the code; ``keep_definitions``
drops the demonstration lines students add after their code (calls, prints, asserts, a ``__main__`` block),
which would otherwise fail or pass programs for reasons that are not the solution's.
"""

from __future__ import annotations

import ast
import builtins
import re
from collections.abc import Sequence

_FENCED = re.compile(r"```[ \t]*([\w+#.-]*)[^\n]*\n(.*?)(?:```|\Z)", re.S)
_PYTHON_TAGS = {"", "python", "py", "python3", "py3"}
_CODE_START = re.compile(r"^(?:def |async def |class |import |from \S+ import |@)")
# HumanEval's body completions end where top-level code starts again.
_BODY_STOPS = re.compile(r"^(?:def |class |if __name__|print\(|assert )", re.M)
_MAX_TRIMS = 20  # trailing lines of prose dropped at most while looking for code that parses


def mbpp_question(text: str, tests: Sequence[str]) -> str:
    """How an MBPP task is put to the student (and to the generator, for MBPP seed rows)."""
    return f"{text.strip()}\nThe function must satisfy these checks:\n" + "\n".join(t.strip() for t in tests)


def humaneval_question(prompt: str) -> str:
    return (
        "Complete the Python function below so that it does what its docstring says. "
        "Answer with the whole function in a Python code block.\n\n"
        f"```python\n{prompt.rstrip()}\n```"
    )


def _defines(code: str, name: str | None) -> bool:
    return bool(name) and re.search(rf"^\s*(?:async\s+)?def\s+{re.escape(name)}\s*\(", code, re.M) is not None


def _parses(code: str) -> bool:
    try:
        ast.parse(code)
    except (SyntaxError, ValueError):
        return False
    return True


def _trim_prose(code: str) -> str:
    """Drop trailing lines until the code parses (prose after an unfenced function)."""
    lines = code.rstrip().splitlines()
    for _ in range(min(_MAX_TRIMS, len(lines) - 1)):
        if _parses("\n".join(lines)):
            break
        lines.pop()
    return "\n".join(lines).rstrip()


def extract_code(completion: str, entry_point: str | None = None) -> tuple[str, str]:
    """(code, how): how is ``fenced``, ``function`` (unfenced, from its first code line), ``body`` (an
    indented continuation of the prompt) or ``raw`` (nothing recognisable; the text as it is)."""
    blocks = [(tag.lower(), code) for tag, code in _FENCED.findall(completion)]
    if blocks:
        python = [code for tag, code in blocks if tag in _PYTHON_TAGS] or [code for _, code in blocks]
        defining = [code for code in python if _defines(code, entry_point)]
        return (defining or python)[0].rstrip() + "\n", "fenced"
    lines = completion.splitlines()
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None:
        return "", "raw"
    if lines[first][:1] in (" ", "\t"):
        return "\n".join(lines[first:]).rstrip() + "\n", "body"
    start = next((i for i, line in enumerate(lines) if _CODE_START.match(line)), None)
    if start is None:
        return completion.strip() + "\n", "raw"
    return _trim_prose("\n".join(lines[start:])) + "\n", "function"


def _is_demo(node: ast.stmt) -> bool:
    if isinstance(node, ast.Expr):
        return not isinstance(node.value, ast.Constant)  # keep string literals, drop calls and prints
    if isinstance(node, ast.Assert):
        return True
    if isinstance(node, ast.If):
        return "__name__" in {n.id for n in ast.walk(node.test) if isinstance(n, ast.Name)}
    return False


def keep_definitions(code: str) -> str:
    """The code without its top-level demonstration statements; unchanged when it does not parse."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return code
    lines = code.splitlines(keepends=True)
    kept: list[str] = []
    for node in tree.body:
        if _is_demo(node):
            continue
        start = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
        kept.append("".join(lines[start - 1 : node.end_lineno]))
    return "".join(part if part.endswith("\n") else part + "\n" for part in kept)


def _body_until_stop(body: str) -> str:
    stop = _BODY_STOPS.search(body)
    return body if stop is None else body[: stop.start()]


def humaneval_solution(prompt: str, completion: str, entry_point: str) -> tuple[str, str]:
    """(the prompt completed by the student's answer, how the code was found)."""
    code, how = extract_code(completion, entry_point)
    if how == "body" or (how == "fenced" and not _defines(code, entry_point) and code[:1] in (" ", "\t")):
        return prompt + _body_until_stop(code), "body" if how == "body" else "fenced_body"
    # A whole function: placed after the prompt, it replaces the prompt's docstring-only definition while
    # the prompt's imports and helper functions stay available.
    return f"{prompt}\n{keep_definitions(code)}", how


def humaneval_program(prompt: str, completion: str, test: str, entry_point: str) -> tuple[str, str]:
    solution, how = humaneval_solution(prompt, completion, entry_point)
    return f"{solution}\n\n{test}\n\ncheck({entry_point})\n", how


def mbpp_entry_point(tests: Sequence[str]) -> str | None:
    """The function the tests call: the first called name that is not a builtin."""
    for test in tests:
        try:
            tree = ast.parse(test)
        except (SyntaxError, ValueError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not hasattr(builtins, node.func.id):
                return node.func.id
    return None


def mbpp_program(
    completion: str, tests: Sequence[str], setup: str = "", entry_point: str | None = None
) -> tuple[str, str]:
    code, how = extract_code(completion, entry_point or mbpp_entry_point(tests))
    body = keep_definitions(code) if how != "raw" else code
    parts = [setup.strip(), body.rstrip(), "\n".join(t.strip() for t in tests)]
    return "\n\n".join(p for p in parts if p) + "\n", how
