"""Demonstration sampler (AGORABENCH.md 2.2): intended and official mixes, reproducible per instance."""

from collections import Counter

import pytest

from pytest_agorabench.generation.demos import draw_demos, instance_rng, sample_for_instance
from pytest_agorabench.generation.prompts import domain_rules

SEEDS = [{"id": f"seed-{i}", "instruction": f"s{i}", "response": f"r{i}"} for i in range(20)]
GEN = [{"id": f"gen-{i:05d}", "instruction": f"g{i}", "response": f"R{i}"} for i in range(5)]
RULES = domain_rules("math")


def test_intended_is_two_seeds_and_one_generated():
    for index in range(50):
        draw = sample_for_instance(RULES, SEEDS, GEN, seed=1, index=index, mix="intended")
        assert sorted(draw.origins) == ["generated", "seed", "seed"]
        seeds = [d for d, o in zip(draw.demos, draw.origins, strict=True) if o == "seed"]
        assert seeds[0] is not seeds[1] and all(d in SEEDS for d in seeds)
        assert draw.theme in RULES.themes and draw.opening is None


def test_intended_falls_back_to_three_distinct_seeds():
    draw = sample_for_instance(RULES, SEEDS, [], seed=1, index=0)
    assert draw.origins == ["seed"] * 3 and len({d["id"] for d in draw.demos}) == 3


def test_generated_position_is_shuffled():
    positions = Counter(
        sample_for_instance(RULES, SEEDS, GEN, seed=3, index=i).origins.index("generated") for i in range(90)
    )
    assert set(positions) == {0, 1, 2}


def test_official_aliasing():
    # Two draws from seeds+generated (no repeats within the draw) and one from the seeds alone.
    many = [{"id": f"gen-{i:05d}", "instruction": f"g{i}", "response": "r"} for i in range(2000)]
    counts = Counter()
    for index in range(200):
        draw = sample_for_instance(RULES, SEEDS[:3], many, seed=5, index=index, mix="official")
        counts[draw.origins.count("generated")] += 1
        assert draw.origins.count("seed") >= 1
    assert counts[2] > 180  # with generated rows dominating: about 1 seed + 2 generated


def test_official_allows_duplicates():
    dupes = 0
    for index in range(100):
        demos, origins = draw_demos(SEEDS[:3], [], instance_rng(0, index), mix="official")
        assert origins == ["seed"] * 3
        dupes += len({d["id"] for d in demos}) < 3
    assert dupes > 30  # 2/3 expected: the seeds-only draw repeats one of the other two


def test_reproducible_per_seed_and_index():
    a = sample_for_instance(RULES, SEEDS, GEN, seed=42, index=7)
    b = sample_for_instance(RULES, SEEDS, GEN, seed=42, index=7)
    c = sample_for_instance(RULES, SEEDS, GEN, seed=43, index=7)
    assert (a.ids, a.theme) == (b.ids, b.theme)
    assert (a.ids, a.theme) != (c.ids, c.theme)
    themes = {sample_for_instance(RULES, SEEDS, GEN, seed=42, index=i).theme for i in range(60)}
    assert len(themes) > 15


def test_bad_inputs():
    with pytest.raises(ValueError, match="at least 3"):
        draw_demos(SEEDS[:2], GEN, instance_rng(0, 0))
    with pytest.raises(ValueError, match="unknown demo mix"):
        draw_demos(SEEDS, GEN, instance_rng(0, 0), mix="nope")
