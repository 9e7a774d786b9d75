"""Facts about public hub datasets that both seeds and evaluation read (names of configs, ...).

A bottom module: it imports nothing of ours, so either side can use it without importing the other.
"""

from __future__ import annotations

# EleutherAI/hendrycks_math has one config per subject; the full MATH set is all seven, in this order.
MATH_SUBJECTS = (
    "algebra",
    "counting_and_probability",
    "geometry",
    "intermediate_algebra",
    "number_theory",
    "prealgebra",
    "precalculus",
)
