"""The smoke world (issue 20): its committed fixtures are what its builder writes, they load through the
loaders the smoke profile uses, the benchmark items are held out from the seeds, and the seed rows are data
the generation validators accept."""

from __future__ import annotations

import pytest

from pytest_agorabench.evaluation.benchmarks import load_items
from pytest_agorabench.generation.validators import validate
from pytest_agorabench.offline_data import fixture_path
from pytest_agorabench.seeds import load_seeds
from pytest_agorabench.settings import SETTINGS
from pytest_agorabench.smoke_world import build, rules

WORLD = "smoke_world"
BENCHMARKS = {"math": ("gsm8k", "math"), "code": ("mbpp", "humaneval"),
              "instruction_following": ("alpacaeval2", "arena_hard")}


def test_the_committed_fixtures_are_what_the_builder_writes(tmp_path):
    build.build(tmp_path)
    ours = fixture_path(WORLD)
    built = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*.jsonl"))
    assert built == sorted(p.relative_to(ours) for p in ours.rglob("*.jsonl"))
    for relative in built:
        assert (ours / relative).read_text() == (tmp_path / relative).read_text(), relative


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.key)
def test_every_setting_loads_its_seeds_and_they_pass_the_validators(setting):
    seeds = load_seeds(setting, data_source="fixture", world=WORLD)
    assert len(seeds) == build.SEEDS_PER_DOMAIN and not seeds.drops
    assert seeds.source.endswith(f"{WORLD}/seeds/{setting.domain.value}/{setting.method.value}.jsonl")
    for row in seeds.rows:
        assert validate(setting.domain.value, row["instruction"], row["response"]) is None, row


def test_a_domain_shares_its_seed_rows_so_one_gold_reference_serves_its_three_settings():
    for domain in BENCHMARKS:
        prints = {load_seeds(s, world=WORLD).fingerprint for s in SETTINGS if s.domain.value == domain}
        assert len(prints) == 1, domain


@pytest.mark.parametrize("domain", sorted(BENCHMARKS))
def test_benchmark_items_load_and_are_held_out_from_the_seeds(domain):
    seen = {r["instruction"] for s in SETTINGS if s.domain.value == domain for r in load_seeds(s, world=WORLD).rows}
    for name in BENCHMARKS[domain]:
        items = load_items(name, world=WORLD)
        assert len(items) == build.ITEMS_PER_BENCHMARK
        for item in items:
            assert item["question"] not in seen, (name, item["question"])
            assert all(item["question"] not in instruction for instruction in seen), (name, item["question"])


def test_the_world_is_not_the_legacy_fixture_set():
    assert load_items("gsm8k", world=WORLD) != load_items("gsm8k")


def test_the_reference_answers_are_right_and_the_arena_baseline_is_wrong():
    for item in load_items("alpacaeval2", world=WORLD):
        assert rules.if_correct(item["question"], item["answer"]) is True
    for item in load_items("arena_hard", world=WORLD):
        assert rules.if_correct(item["question"], item["answer"]) is False


@pytest.mark.parametrize(
    "request_, right, wrong",
    [
        ("Reply with the larger of 3 and 8.", "The larger number is 8.", "The larger number is 3."),
        ("Reply with the smaller of 3 and 8.", "the smaller number is 3", "3"),
        ("Reply with 3 and 8 in reverse order.", "In reverse order:  8 3.", "In reverse order: 3 8."),
    ],
)
def test_rules_check_replies_without_case_spacing_or_final_stop(request_, right, wrong):
    assert rules.if_correct(request_, right) is True
    assert rules.if_correct(request_, wrong) is False


def test_a_request_outside_the_world_has_no_right_reply():
    assert rules.if_expected("Write a poem about the sea.") is None
    assert rules.if_correct("Write a poem about the sea.", "Waves.") is None
