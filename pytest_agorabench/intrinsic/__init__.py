"""Intrinsic metrics of a generated data set (AGORABENCH.md section 5); ``measure`` runs them as one stage.

- diversity: c-dist, mean pairwise cosine distance of embeddings, in bounded memory
- embeddings: all-MiniLM-L6-v2 (offline from PyPI) and a hashed n-gram embedder
- perplexity: response perplexity under a causal LM;  reward: mean raw reward of a reward model
- rubrics + judge_scores: 1-5 grades of instruction difficulty and response quality by an LLM judge
Importing this package is free: torch, transformers and inspect load when a scorer runs.
"""

from pytest_agorabench.intrinsic.measure import (
    PAPER_JUDGES,
    PAPER_REWARD_MODEL,
    IntrinsicConfig,
    IntrinsicError,
    measure,
)

__all__ = ["PAPER_JUDGES", "PAPER_REWARD_MODEL", "IntrinsicConfig", "IntrinsicError", "measure"]
