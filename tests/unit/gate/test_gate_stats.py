"""The gate's statistics against hand-computed tables: McNemar's exact test, Bonferroni and Holm, the
two-level bootstrap's point and variance split, and the paired delta's p-values."""

import numpy as np
import pytest

from pytest_agorabench.gate.stats import Items, bonferroni, holm, item_test, paired_delta, two_level, variance_split

IDS = tuple(f"q{i}" for i in range(10))


def items(student, base=None, reference=None, ids=IDS):
    n = len(ids)
    return Items(ids, np.atleast_2d(student), np.zeros(n) if base is None else base,
                 np.ones(n) if reference is None else reference)


def test_mcnemar_counts_the_discordant_items_and_tests_them_one_sided():
    before = np.array([1, 1, 1, 1, 1, 1, 0, 0, 0, 0], dtype=float)  # the baseline's student
    now = np.array([0, 0, 0, 0, 0, 1, 1, 0, 0, 0], dtype=float)  # 5 lost, 1 gained, 4 unchanged
    result = item_test(items(now), items(before))
    assert (result["test"], result["lost"], result["gained"]) == ("mcnemar_exact", 5, 1)
    assert result["p_worse"] == pytest.approx(7 / 64)  # P(X >= 5), X ~ Bin(6, 1/2) = (6 + 1) / 64
    assert result["delta"] == pytest.approx(-40.0)


def test_scores_between_zero_and_one_get_the_signed_rank_test():
    before = np.linspace(0.5, 0.95, 10)
    result = item_test(items(before - 0.2), items(before))
    assert result["test"] == "wilcoxon" and result["p_worse"] < 0.01
    assert item_test(items(before), items(before))["p_worse"] == 1.0


def test_bonferroni_and_holm_by_hand():
    assert bonferroni(0.05, 4) == pytest.approx(0.0125)
    # sorted: a 0.01 <= 0.05/3 rejects; c 0.03 > 0.05/2 stops; b is not tested further.
    assert holm({"a": 0.01, "b": 0.04, "c": 0.03}) == {"a": True, "c": False, "b": False}
    assert holm({"a": 0.01, "b": 0.02, "c": 0.04}) == {"a": True, "b": True, "c": True}  # 0.0167, 0.025, 0.05


def test_two_level_point_is_the_mean_of_the_seeds_and_their_variance_is_split_out():
    seed_a = np.r_[np.ones(5), np.zeros(5)]  # student mean 0.5 -> PGR 50 (base 0, reference 1)
    seed_b = np.r_[np.ones(7), np.zeros(3)]  # 0.7 -> 70
    result = two_level([items(np.vstack([seed_a, seed_b]))], resamples=500, seed=1)
    assert result.point == pytest.approx(60.0)
    assert result.extra["seed_pgrs"] == pytest.approx([50.0, 70.0])
    assert result.extra["variance_seeds"] == pytest.approx(200.0)  # ((50-60)^2 + (70-60)^2) / (2 - 1)
    assert 0 < result.extra["share_seeds"] < 1
    assert result.low < 60.0 < result.high
    same = variance_split([items(np.vstack([seed_a, seed_a]))], resamples=200)
    assert same["variance_seeds"] == 0.0 and same["share_seeds"] == 0.0


def test_the_paired_delta_of_a_run_with_itself_is_exactly_zero():
    student = np.r_[np.ones(6), np.zeros(4)]
    delta = paired_delta([items(student)], [items(student)], margin=5.0, resamples=300)
    assert (delta.point, delta.low, delta.high) == (0.0, 0.0, 0.0)
    assert delta.extra["p_worse"] == 1.0 and delta.extra["p_drop"] == 1.0


def test_a_much_worse_run_has_a_small_p_and_items_are_matched_by_id():
    good = np.r_[np.ones(9), np.zeros(1)]
    bad = np.r_[np.ones(2), np.zeros(8)]
    reversed_ids = IDS[::-1]
    baseline = items(good[::-1], ids=reversed_ids)  # the same items listed in another order
    delta = paired_delta([items(bad)], [baseline], margin=5.0, resamples=1000, seed=3)
    assert delta.point == pytest.approx(-70.0)
    assert delta.high < -5.0 and delta.extra["p_drop"] < 0.01
    with pytest.raises(ValueError, match="different benchmark items"):
        paired_delta([items(bad)], [items(good, ids=tuple(f"x{i}" for i in range(10)))])
