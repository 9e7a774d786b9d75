"""Our 1-5 rubrics for the LLM judge (AGORABENCH.md section 5), the prompts built from them, and the parsing
of the judge's score.

Two kinds of grading:
- ``difficulty``: the judge is told someone was asked to write a hard problem of the domain, and grades the
  instruction that came back for how demanding it is to solve (1 = trivial ... 5 = research-grade).
- ``quality``: the judge grades the response to the instruction against the domain's quality criteria.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass

DIFFICULTY = "difficulty"
QUALITY = "quality"
KINDS = (DIFFICULTY, QUALITY)
SCORE_PREFIX = "Score: "
# With structured output (--agora-structured=on and a judge whose backend takes a grammar), the reply is held
# to the grade line alone: a small judge that reasons first ran out of tokens before any grade (SmolLM2 at
# 16 tokens: 8 of 8 rows unparseable in every case of a smoke run).
SCORE_REGEX = SCORE_PREFIX + "[1-5]"
DOMAINS = ("math", "code", "instruction_following")

UNPARSEABLE = "unparseable"  # no score found in the reply
OUT_OF_RANGE = "out_of_range"  # a score, but not 1-5
REFUSAL = "refusal"
EMPTY = "empty_reply"
ERROR = "error"  # the call itself failed (provider error, timeout, ...)
FAILURE_REASONS = (UNPARSEABLE, OUT_OF_RANGE, REFUSAL, EMPTY, ERROR)

SYSTEM_MESSAGE = (
    "You grade material for a training data set. Apply the rubric you are given literally, judge only what "
    "is written, and finish with the score line exactly as asked."
)

_TASK_NAMES = {"math": "mathematics", "code": "programming", "instruction_following": "general instruction following"}

RUBRICS: dict[tuple[str, str], tuple[str, ...]] = {
    (DIFFICULTY, "math"): (
        "1: one routine step: arithmetic, a direct formula, or recall of a fact.",
        "2: a short standard procedure of two or three steps, as in an early school exercise.",
        "3: several steps combining two ideas; a competent student needs to plan the solution.",
        "4: a non-obvious approach or a chain of ideas from different areas; competition-style.",
        "5: deep insight or an original argument joining several advanced concepts; olympiad or research level.",
    ),
    (DIFFICULTY, "code"): (
        "1: a single built-in call or a one-line expression.",
        "2: a short loop or condition over simple data; no algorithmic choice to make.",
        "3: a standard algorithm or data structure applied correctly, with a few edge cases to handle.",
        "4: an efficient algorithm must be chosen or adapted; complexity, state or tricky cases matter.",
        "5: a combination of advanced techniques, strict efficiency or concurrency constraints, or system design.",
    ),
    (DIFFICULTY, "instruction_following"): (
        "1: a one-line factual answer or a trivial rewrite.",
        "2: a short explanation or text on a familiar topic with no constraints.",
        "3: a structured answer that needs some knowledge and meets one or two explicit constraints.",
        "4: expert knowledge, reasoning over several aspects, or many constraints that interact.",
        "5: multi-part expert work: weighing trade-offs, original synthesis, tight and conflicting constraints.",
    ),
    (QUALITY, "math"): (
        "1: the final answer is wrong and the reasoning is missing or broken.",
        "2: the answer is wrong, or right only by luck, with major gaps or errors in the reasoning.",
        "3: the answer is right but the reasoning skips steps or has minor errors or is hard to follow.",
        "4: right answer with sound, complete reasoning; presentation could be clearer or tighter.",
        "5: right answer, every step justified and easy to follow, final answer clearly stated.",
    ),
    (QUALITY, "code"): (
        "1: does not run or does not address the task.",
        "2: runs but gives wrong results on typical inputs.",
        "3: right on typical inputs but fails edge cases, or is needlessly slow or fragile.",
        "4: correct and reasonably efficient; small issues of robustness or style.",
        "5: correct on all inputs including edge cases, efficient, robust and clean.",
    ),
    (QUALITY, "instruction_following"): (
        "1: unhelpful, off-topic or largely wrong.",
        "2: touches the request but misses its main point or contains notable errors.",
        "3: addresses the request acceptably but is shallow, partly inaccurate or ignores a constraint.",
        "4: helpful, relevant and accurate, with good depth; minor omissions.",
        "5: fully meets the request and every constraint, accurate, insightful and well organised.",
    ),
}

_CRITERIA = {
    "math": "correctness of the final answer, soundness of the reasoning, clarity of the presentation",
    "code": "correctness, whether it would execute, efficiency, robustness to edge cases",
    "instruction_following": "helpfulness, relevance, accuracy, depth",
}


def _rubric_lines(kind: str, domain: str) -> str:
    if (kind, domain) not in RUBRICS:
        raise ValueError(f"no rubric for kind={kind!r} domain={domain!r}; kinds {KINDS}, domains {DOMAINS}")
    return "\n".join(RUBRICS[(kind, domain)])


def judge_prompt(kind: str, domain: str, instruction: str, response: str = "") -> str:
    rubric = _rubric_lines(kind, domain)
    task = _TASK_NAMES[domain]
    # The rubric and the instructions first, the row last: the prompts of one rubric then share a long
    # prefix, which our provider prefills once per batch and vllm and API prompt caches reuse.
    if kind == DIFFICULTY:
        return (
            f"Someone was asked to write a hard {task} problem. Grade how difficult it is to solve the problem "
            f"they wrote well, on this scale:\n{rubric}\n\n"
            "Judge the problem as written, not whether it is solvable as stated or well phrased. Give one or two "
            f"sentences of reasons, then a last line of the form \"{SCORE_PREFIX}N\" with N from 1 to 5.\n\n"
            f"<problem>\n{instruction.strip()}\n</problem>"
        )
    return (
        f"Grade the response to a {task} request.\n\n"
        f"Criteria: {_CRITERIA[domain]}. Scale:\n{rubric}\n\n"
        f"Give one or two sentences of reasons, then a last line of the form \"{SCORE_PREFIX}N\" with N from 1 "
        "to 5.\n\n"
        f"<request>\n{instruction.strip()}\n</request>\n\n<response>\n{response.strip()}\n</response>"
    )


def prompt_version() -> str:
    """Hash of everything the judge sees besides the data: it changes when any rubric or wording does."""
    payload = json.dumps(
        [SYSTEM_MESSAGE, {f"{k}/{d}": v for (k, d), v in RUBRICS.items()}, _CRITERIA,
         judge_prompt(DIFFICULTY, "math", "{i}"), judge_prompt(QUALITY, "math", "{i}", "{r}")]
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Grade:
    score: int | None
    failure: str | None  # a FAILURE_REASONS entry when score is None
    detail: str = ""


_SCORE_LINE = re.compile(r"score\s*(?:\(1\s*-\s*5\))?\s*[:=]?\s*[*_\[(\"']*\s*(-?\d+(?:\.\d+)?)(?:\s*/\s*5)?", re.IGNORECASE)
_BARE_NUMBER = re.compile(r"^\W*(-?\d+(?:\.\d+)?)\W*$")
_REFUSAL = re.compile(
    r"\b(?:i\s*(?:'m|am)\s+sorry|i\s+(?:can(?:'|no)t|cannot|won't|will\s+not)\s+(?:help|assist|comply|grade|evaluate)"
    r"|as\s+an\s+ai\b)",
    re.IGNORECASE,
)


def parse_score(text: str | None) -> Grade:
    """The last "Score: N" in the reply wins; a reply that is only a number counts as the score. Scores
    must be whole numbers 1-5 ("4/5" reads as 4); anything else is a counted failure, never an exception."""
    text = text or ""
    if not text.strip():
        return Grade(None, EMPTY, "empty reply")
    matches = list(_SCORE_LINE.finditer(text))
    raw = matches[-1].group(1) if matches else None
    if raw is None:
        bare = _BARE_NUMBER.match(text.strip())
        raw = bare.group(1) if bare else None
    if raw is None:
        if _REFUSAL.search(text):
            return Grade(None, REFUSAL, text.strip()[:200])
        return Grade(None, UNPARSEABLE, text.strip()[:200])
    value = float(raw)
    if not value.is_integer() or not 1 <= value <= 5:
        return Grade(None, OUT_OF_RANGE, f"score {raw}")
    return Grade(int(value), None)
