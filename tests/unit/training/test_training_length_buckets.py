"""LengthBucketSampler: batch-sized runs of similar length, a permutation per epoch, seeded."""

from __future__ import annotations

import pytest

from pytest_agorabench.training.length_buckets import LengthBucketSampler

LENGTHS = [5, 90, 6, 7, 88, 5, 91, 6, 30, 31, 8]  # 11 rows: two full batches of 4 and a short one of 3


def _batches(order, size):
    return [order[i : i + size] for i in range(0, len(order), size)]


def test_each_batch_is_a_run_of_similar_lengths_and_every_row_comes_once():
    sampler = LengthBucketSampler(LENGTHS, 4, seed=1)
    order = list(sampler)
    assert sorted(order) == list(range(len(LENGTHS))) and len(sampler) == len(LENGTHS)
    ranked = sorted(LENGTHS)
    chunks = [sorted(ranked[i : i + 4]) for i in (0, 4, 8)]
    assert sorted(sorted(LENGTHS[i] for i in b) for b in _batches(order, 4)) == sorted(chunks)


def test_the_short_batch_stays_last_so_the_loader_cuts_along_the_buckets():
    for epoch in range(6):
        sampler = LengthBucketSampler(LENGTHS, 4, seed=3)
        sampler.set_epoch(epoch)
        last = _batches(list(sampler), 4)[-1]
        assert len(last) == 3 and sorted(LENGTHS[i] for i in last) == sorted(LENGTHS)[8:]


def test_same_seed_and_epoch_same_order_and_epochs_differ():
    a, b = LengthBucketSampler(LENGTHS * 4, 4, seed=7), LengthBucketSampler(LENGTHS * 4, 4, seed=7)
    assert list(a) == list(b)
    first = list(a)
    a.set_epoch(1)
    assert list(a) != first and sorted(a) == sorted(first)
    assert list(LengthBucketSampler(LENGTHS * 4, 4, seed=8)) != first


def test_a_bad_batch_size_and_packing_are_refused():
    from pytest_agorabench.training.recipes import get_recipe

    with pytest.raises(ValueError, match="batch_size"):
        LengthBucketSampler(LENGTHS, 0, seed=1)
    with pytest.raises(ValueError, match="length_buckets applies to unpacked"):
        get_recipe("smoke").with_overrides(packing=True)
