"""Final-answer extraction and equivalence for the math benchmarks (AGORABENCH.md section 4).

Extraction order: the last ``[RESULT] ... [/RESULT]`` pair, else the last ``\\boxed{...}``/``\\fbox{...}``,
else the last number. GSM8K compares numerically; MATH uses math-verify (imported lazily: it pulls in sympy).
"""

from __future__ import annotations

import os
import re
import signal
import threading
from fractions import Fraction

_RESULT_RE = re.compile(r"\[RESULT\](.*?)\[/RESULT\]", re.DOTALL | re.IGNORECASE)
_BOX_RE = re.compile(r"\\(?:boxed|fbox)")
# A minus sign counts only when it is not a binary minus ("5-3" ends in 3, not -3).
_NUMBER_RE = re.compile(
    r"(?:(?<![\w)\]}])-)?"
    r"(?:\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+)"
    r"(?:\s*/\s*\d+(?:\.\d+)?)?"
)
_LATEX_FRAC_RE = re.compile(r"\\[dt]?frac\s*\{([^{}]*)\}\s*\{([^{}]*)\}")
_TEXT_RE = re.compile(r"\\(?:text|textbf|mathrm|mbox)\s*\{([^{}]*)\}")
# Longer strings are not given to sympy: a pathological expression can hang it when no timeout is possible.
_MAX_VERIFY_CHARS = 1000
_MATH_VERIFY_TIMEOUT_S = 5


def extract_answer(text: str | None) -> str | None:
    """The final answer a model gave in ``text``, or None when there is none."""
    if not text:
        return None
    results = [m.strip() for m in _RESULT_RE.findall(text)]
    results = [r for r in results if r]
    if results:
        inner = last_boxed(results[-1])
        return _strip_dollars(inner if inner is not None else results[-1])
    boxed = last_boxed(text)
    if boxed is not None:
        return _strip_dollars(boxed)
    return last_number(text)


def last_boxed(text: str) -> str | None:
    """Content of the last complete ``\\boxed{...}`` or ``\\fbox{...}`` (balanced braces)."""
    for match in reversed(list(_BOX_RE.finditer(text))):
        content = _braced_after(text, match.end())
        if content is not None:
            return content.strip()
    return None


def _braced_after(text: str, pos: int) -> str | None:
    rest = text[pos:]
    stripped = rest.lstrip()
    if not stripped:
        return None
    if stripped[0] != "{":
        # MATH sometimes writes "\boxed 5": the argument is the next token.
        if rest[:1].isspace():
            token = re.match(r"[^\s$]+", stripped)
            return token.group(0) if token else None
        return None
    start = pos + (len(rest) - len(stripped))
    depth = 0
    for i in range(start, len(text)):
        ch = text[i]
        if ch == "{" and text[i - 1] != "\\":
            depth += 1
        elif ch == "}" and text[i - 1] != "\\":
            depth -= 1
            if depth == 0:
                return text[start + 1 : i]
    return None  # unbalanced: a truncated generation


def last_number(text: str) -> str | None:
    """The last number in ``text`` with thousands separators removed ("1,234.5", "-3", "3/4")."""
    matches = _NUMBER_RE.findall(text)
    if not matches:
        return None
    return re.sub(r"[,\s]", "", matches[-1])


def _strip_dollars(s: str) -> str:
    s = s.strip()
    if len(s) >= 2 and s.startswith("$") and s.endswith("$"):
        s = s.strip("$").strip()
    return s


def to_number(s: str | None) -> Fraction | None:
    """A numeric value for a GSM8K-style answer ("$1,200", "15%", "7 apples", "\\frac{3}{4}"), else None."""
    if s is None:
        return None
    s = _TEXT_RE.sub(r" \1 ", s)
    s = _LATEX_FRAC_RE.sub(r"(\1)/(\2)", s)
    s = s.replace("\\$", " ").replace("$", " ").replace("\\%", " ").replace("%", " ")
    s = s.replace("\\!", "").replace("\\,", "").replace("{,}", ",")
    s = re.sub(r"[()]", "", s)
    number = last_number(s)
    if number is None:
        return None
    try:
        return Fraction(number)
    except (ValueError, ZeroDivisionError):
        return None


def gsm8k_equal(pred: str | None, gold: str | None) -> bool:
    """Numeric equality after stripping currency, commas, percent signs and unit words."""
    p, g = to_number(pred), to_number(gold)
    if p is None or g is None:
        return False
    # Exact for integers and fractions; a relative tolerance absorbs "0.3333" style decimals.
    return abs(p - g) <= Fraction(1, 10**6) * max(1, abs(g))


def _normalize_latex(s: str) -> str:
    s = _strip_dollars(s)
    for old, new in (("\\left", ""), ("\\right", ""), ("\\!", ""), ("\\,", ""), ("\\dfrac", "\\frac"),
                     ("\\tfrac", "\\frac"), ("^\\circ", ""), ("^{\\circ}", "")):
        s = s.replace(old, new)
    return re.sub(r"\s+", "", s).rstrip(".")


def _timeout_seconds() -> int | None:
    """math-verify's timeouts use SIGALRM: possible only in the main thread on POSIX, and only when no
    other alarm is pending (pytest-timeout's, say), which math-verify's ``alarm(0)`` would cancel."""
    if os.name != "posix" or threading.current_thread() is not threading.main_thread():
        return None
    if signal.getitimer(signal.ITIMER_REAL)[0] > 0:
        return None
    return _MATH_VERIFY_TIMEOUT_S


def math_equal(pred: str | None, gold: str | None) -> bool:
    """Mathematical equivalence via math-verify; any parser error or timeout counts as not equal."""
    if pred is None or gold is None or not pred.strip():
        return False
    if _normalize_latex(pred) == _normalize_latex(gold):
        return True
    if len(pred) > _MAX_VERIFY_CHARS:
        return False
    try:
        from math_verify import parse, verify

        timeout = _timeout_seconds()
        gold_parsed = parse(f"${_strip_dollars(gold)}$", parsing_timeout=timeout)
        pred_parsed = parse(f"${_strip_dollars(pred)}$", parsing_timeout=timeout)
        if not gold_parsed or not pred_parsed:
            return False
        return bool(verify(gold_parsed, pred_parsed, timeout_seconds=timeout))
    except Exception:  # noqa: BLE001 - math-verify raises many kinds (sympy, timeout): all mean "not shown equal"
        return False


def gold_from_gsm8k(answer_field: str) -> str:
    """The gold number of a GSM8K ``answer`` field: the text after the last ``####``, commas removed."""
    if "####" not in answer_field:
        raise ValueError("GSM8K answer has no '#### <number>' line")
    gold = answer_field.rsplit("####", 1)[1].strip().replace(",", "")
    if not gold:
        raise ValueError("GSM8K answer has an empty '####' line")
    return gold


def gold_from_math_solution(solution: str) -> str:
    """The gold answer of a MATH ``solution``: the content of its last ``\\boxed{}``."""
    boxed = last_boxed(solution)
    if boxed is None:
        raise ValueError("MATH solution has no \\boxed{...} answer")
    return boxed
