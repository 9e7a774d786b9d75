"""Diversity as c-dist: the mean cosine distance (1 - cosine similarity) over all unordered pairs of texts.

The pair matrix is never built whole: rows are L2-normalised into float32 and multiplied tile by tile
(``block`` x ``block``), each tile's sum accumulated in float64, so memory stays at one tile (16 MB for the
default 2048) however many texts there are. Vectors of norm zero (e.g. an empty text under the hashed
embedder) have no direction: they are left out and counted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

DEFAULT_BLOCK = 2048


@dataclass
class Diversity:
    value: float | None  # mean cosine distance, None when fewer than two usable texts
    texts: int
    zero_vectors: int  # left out: no direction

    @property
    def pairs(self) -> int:
        usable = self.texts - self.zero_vectors
        return usable * (usable - 1) // 2


def _normalised(embeddings: np.ndarray) -> tuple[np.ndarray, int]:
    matrix = np.asarray(embeddings, dtype=np.float32)
    if matrix.ndim != 2:
        raise ValueError(f"embeddings must be a 2-d array (texts x dimensions), got shape {matrix.shape}")
    norms = np.linalg.norm(matrix, axis=1)
    keep = norms > 0
    return matrix[keep] / norms[keep, None], int((~keep).sum())


def mean_cosine_distance(embeddings: np.ndarray, block: int = DEFAULT_BLOCK) -> Diversity:
    """c-dist of the rows of ``embeddings``, computed in ``block`` x ``block`` float32 tiles."""
    if block < 1:
        raise ValueError("block must be at least 1")
    unit, zeros = _normalised(embeddings)
    n = unit.shape[0]
    if n < 2:
        return Diversity(None, n + zeros, zeros)
    similarity_sum = 0.0
    for i in range(0, n, block):
        rows = unit[i : i + block]
        for j in range(i, n, block):
            tile = rows @ unit[j : j + block].T
            if i == j:  # a diagonal tile: the strict upper triangle only (no self pairs, each pair once)
                similarity_sum += (float(tile.sum(dtype=np.float64)) - float(np.trace(tile, dtype=np.float64))) / 2
            else:
                similarity_sum += float(tile.sum(dtype=np.float64))
    pairs = n * (n - 1) / 2
    return Diversity(1.0 - similarity_sum / pairs, n + zeros, zeros)


def text_diversity(texts: Sequence[str], embedder, block: int = DEFAULT_BLOCK) -> Diversity:
    """Embed the texts and take their c-dist."""
    if not texts:
        return Diversity(None, 0, 0)
    return mean_cosine_distance(embedder(list(texts)), block)
