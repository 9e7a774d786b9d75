"""Math rules and themes for the three methods (AGORABENCH.md 2.2-2.4), in our own words.

The answer format (one ``[RESULT] ... [/RESULT]`` pair ending the response) is what the math validator
and the GSM8K/MATH answer extraction rely on, so every method states it the same way.
"""

from __future__ import annotations

from pytest_agorabench.generation.prompts.base import DomainRules

# Shared by all three methods: the validator checks exactly these properties.
_ANSWER_RULES = (
    "Work through the solution step by step, showing the reasoning that leads to the answer.",
    "Put the final answer alone on the last line, written as [RESULT] answer [/RESULT]. "
    "Use the result tags exactly once.",
    "Inside the result tags write only the answer itself: no units, words, dollar signs, \\boxed{} "
    "or other decoration.",
    "If the task is a proof, finish with [RESULT] Q.E.D. [/RESULT].",
)

# About 35 topics (AGORABENCH.md 2.2): school and university areas, plus word-problem skills.
THEMES = (
    "algebra",
    "counting and probability",
    "geometry",
    "number theory",
    "calculus",
    "conic sections",
    "group theory",
    "ring theory",
    "field theory",
    "differential equations",
    "linear algebra",
    "real analysis",
    "complex analysis",
    "combinatorics",
    "topology",
    "trigonometry",
    "graph theory",
    "set theory",
    "sequences and series",
    "inequalities",
    "polynomials",
    "vectors",
    "a word problem on greatest common divisors and least common multiples",
    "a word problem on matrices",
    "a word problem on derivatives and rates of change",
    "a word problem on integrals",
    "a word problem on areas",
    "a word problem on volumes",
    "a word problem on fractions",
    "a word problem on percentages",
    "a word problem on ratios and proportions",
    "a word problem on remainders",
    "a word problem on rounding and estimation",
    "a word problem on exponents",
    "a word problem on logarithms",
)

RULES = DomainRules(
    domain="math",
    input_noun="a math problem",
    output_noun="its step-by-step solution ending in a tagged final answer",
    themes=THEMES,
    ig_input_rules=(
        "Write exactly one math problem on the theme given under \"This example\".",
        "Make it much harder than the examples: it should need several steps and combine more than one idea.",
        "The problem must ask for a single final quantity, and it must state the form the answer should "
        "take (for example an integer, a fraction in lowest terms, or an exact expression).",
        "Give every number and definition needed, so the problem can be solved without outside context.",
    ),
    ig_output_rules=_ANSWER_RULES,
    rg_task="Solve the math problem given as INPUT.",
    rg_rules=_ANSWER_RULES,
    qe_answer_rules=_ANSWER_RULES,
    answer_format="End the solution with the final answer alone on its last line as [RESULT] answer [/RESULT].",
)
