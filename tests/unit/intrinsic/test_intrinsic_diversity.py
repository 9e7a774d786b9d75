"""c-dist: the blocked computation against brute force, its bounded memory, and the embedders."""

from __future__ import annotations

import itertools
import tracemalloc

import numpy as np
import pytest

from pytest_agorabench.intrinsic.diversity import mean_cosine_distance, text_diversity
from pytest_agorabench.intrinsic.embeddings import EmbeddingError, HashedNgramEmbedder, get_embedder


def brute_force(vectors: np.ndarray) -> float:
    distances = [
        1 - float(a @ b) / (np.linalg.norm(a) * np.linalg.norm(b)) for a, b in itertools.combinations(vectors, 2)
    ]
    return sum(distances) / len(distances)


@pytest.mark.parametrize("n, block", [(2, 1), (7, 3), (40, 7), (40, 40), (41, 1000)])
def test_blocked_equals_brute_force(n, block):
    vectors = np.random.default_rng(n).normal(size=(n, 16)) + 0.3
    result = mean_cosine_distance(vectors, block=block)
    assert result.value == pytest.approx(brute_force(vectors), abs=1e-6)
    assert result.pairs == n * (n - 1) // 2


def test_closed_form_agrees_on_a_larger_input():
    # For unit vectors the sum of all pairwise cosines is (|sum u|^2 - n) / 2: an independent oracle.
    unit = np.random.default_rng(5).normal(size=(3000, 32))
    unit /= np.linalg.norm(unit, axis=1, keepdims=True)
    n = len(unit)
    expected = 1 - (np.linalg.norm(unit.sum(0)) ** 2 - n) / (n * (n - 1))
    assert mean_cosine_distance(unit, block=512).value == pytest.approx(expected, abs=1e-6)


def test_memory_stays_at_one_tile():
    vectors = np.random.default_rng(0).normal(size=(4000, 64)).astype(np.float32)
    tracemalloc.start()
    mean_cosine_distance(vectors, block=256)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    all_pairs = 4000 * 4000 * 4  # the float32 similarity matrix a plain implementation builds (64 MB)
    assert peak < all_pairs / 8


def test_zero_vectors_are_left_out_and_tiny_inputs_have_no_value():
    vectors = np.array([[1.0, 0], [0, 1.0], [0, 0]])
    result = mean_cosine_distance(vectors)
    assert (result.value, result.zero_vectors, result.texts) == (pytest.approx(1.0), 1, 3)
    assert mean_cosine_distance(np.ones((1, 4))).value is None
    assert text_diversity([], HashedNgramEmbedder()).value is None
    with pytest.raises(ValueError, match="2-d"):
        mean_cosine_distance(np.ones(4))


def test_hashed_embedder_is_deterministic_and_sees_similarity():
    embed = HashedNgramEmbedder(dim=128)
    texts = ["solve the quadratic equation", "solve this quadratic equation", "bake sourdough bread at home"]
    first, again = embed(texts), HashedNgramEmbedder(dim=128)(texts)
    np.testing.assert_array_equal(first, again)
    unit = first / np.linalg.norm(first, axis=1, keepdims=True)
    assert unit[0] @ unit[1] > unit[0] @ unit[2] + 0.3
    same = text_diversity(["the same text"] * 5, embed).value
    varied = text_diversity(texts, embed).value
    assert same == pytest.approx(0.0, abs=1e-6) and varied > 0.2


def test_unknown_embedder_is_a_clear_error():
    with pytest.raises(EmbeddingError, match="unknown embedder 'bert'"):
        get_embedder("bert")
    assert isinstance(get_embedder("hashed"), HashedNgramEmbedder)


@pytest.mark.network
@pytest.mark.slow
def test_minilm_from_pypi_embeds_and_ranks_similar_texts_closer():
    embed = get_embedder("all-minilm-l6-v2")
    vectors = embed(["How do I bake bread?", "Steps for baking a loaf of bread", "Prove that sqrt(2) is irrational."])
    assert vectors.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert vectors[0] @ vectors[1] > 0.6 > 0.2 > vectors[0] @ vectors[2]
