"""Instruction-following rules, themes and openings for the three methods (AGORABENCH.md 2.2-2.4), ours.

Instance generation draws a theme (about 28 areas) and an opening word or phrase per call; the new
instruction must start with that opening, which spreads the generated instructions over question types
(explanations, how-tos, writing tasks, ...) instead of letting them drift to one form.
"""

from __future__ import annotations

from pytest_agorabench.generation.prompts.base import DomainRules

# What makes a good answer, shared by the three methods.
_ANSWER_RULES = (
    "Answer the request directly and completely, as a knowledgeable and helpful assistant would.",
    "Give the answer a structure that is easy to read (short paragraphs, and numbered steps or a list "
    "where they help), with no padding, filler or repetition.",
    "No greeting, no sign-off and no remarks about yourself or about the task.",
)

THEMES = (
    "health and fitness",
    "technology",
    "history",
    "science",
    "cooking and food",
    "travel",
    "creative writing",
    "puzzles and riddles",
    "personal finance",
    "education and study skills",
    "careers and the workplace",
    "relationships and communication",
    "parenting",
    "environment and sustainability",
    "art and design",
    "music",
    "film and literature",
    "sports",
    "home and gardening",
    "pets and animals",
    "language and grammar",
    "philosophy and ethics",
    "law and everyday rights",
    "business and entrepreneurship",
    "programming",
    "mathematics in everyday life",
    "psychology and well-being",
    "culture and traditions",
)

# Sampled first words of a new instruction (AGORABENCH.md 2.2): question forms and task verbs.
OPENINGS = (
    "Write",
    "Explain",
    "How",
    "Why",
    "What",
    "Can you",
    "Given",
    "Implement",
    "Summarize",
    "Describe",
    "Compare",
    "List",
    "Suggest",
    "Create",
    "Imagine",
    "Help me",
    "I need",
    "Is it",
    "Should I",
    "Plan",
)

RULES = DomainRules(
    domain="instruction_following",
    input_noun="a question or instruction a person might give an assistant",
    output_noun="a high-quality reference answer to it",
    themes=THEMES,
    ig_input_rules=(
        'Write exactly one question or instruction on the theme given under "This example", beginning '
        "with the words given there.",
        "Make it much harder than the examples: it should ask for more thought, knowledge or care to "
        "answer well, for instance by adding constraints, combining several requests or needing reasoning.",
        "Make it self-contained: include any text, data or context the answer needs.",
    ),
    ig_output_rules=_ANSWER_RULES,
    rg_task="Respond to the request given as INPUT.",
    rg_rules=_ANSWER_RULES,
    qe_answer_rules=(
        *_ANSWER_RULES,
        "Keep the facts and advice of the original answer unless you are sure they are wrong.",
    ),
    openings=OPENINGS,
)
