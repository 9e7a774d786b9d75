"""Instruction-following generation: our meta-prompts (theme, sampled opening), clean-up, validators and
drop counts through one instance's retry loop (injected model call, no inspect)."""

import asyncio

import pytest

from pytest_agorabench.generation import cleanup, validators
from pytest_agorabench.generation.demos import sample_for_instance
from pytest_agorabench.generation.instance import Attempt, GenerationContext
from pytest_agorabench.generation.prompts import build_prompt, domain_rules, prompt_fingerprint
from pytest_agorabench.generation.prompts.instruction_following import OPENINGS, RULES, THEMES
from pytest_agorabench.settings import get_setting
from pytest_agorabench.files import Journal

IG = get_setting("instruction_following/instance_generation")
RG = get_setting("instruction_following/response_generation")
QE = get_setting("instruction_following/quality_enhancement")
SEEDS = [{"id": f"s{i}", "instruction": f"Question {i}?", "response": f"Answer {i}."} for i in range(5)]


def test_rules_have_about_28_themes_and_a_list_of_openings():
    assert domain_rules("instruction_following") is RULES
    assert 25 <= len(THEMES) <= 32 and len(set(THEMES)) == len(THEMES)
    assert {"Write", "Explain", "How", "Why", "Can you", "Given", "Implement", "Summarize"} <= set(OPENINGS)


def test_instance_prompt_states_theme_and_opening_and_ends_with_a_dangling_input():
    prompt = build_prompt(IG, demos=SEEDS[:3], theme="travel", opening="Why")
    assert "## This example\n- Theme: travel\n- Begin the input with \"Why\"." in prompt
    assert "much harder than the examples" in prompt
    assert prompt.count("[EXAMPLE") == 3 and prompt.endswith("INPUT: ")


def test_every_instance_draws_a_theme_and_an_opening_reproducibly():
    draws = [sample_for_instance(RULES, SEEDS, [], seed=1, index=i) for i in range(40)]
    assert all(d.theme in THEMES and d.opening in OPENINGS for d in draws)
    assert len({d.opening for d in draws}) > 5
    again = sample_for_instance(RULES, SEEDS, [], seed=1, index=7)
    assert (again.theme, again.opening) == (draws[7].theme, draws[7].opening)


def test_response_and_enhancement_prompts():
    rg = build_prompt(RG, seed_row=SEEDS[0])
    assert rg.startswith("Respond to the request given as INPUT.") and "No greeting" in rg
    assert rg.rstrip().endswith("OUTPUT:")
    qe = build_prompt(QE, seed_row=SEEDS[1])
    assert "Question: Question 1?" in qe and "Answer: Answer 1." in qe
    assert "Keep the facts and advice of the original answer" in qe


def test_fingerprint_covers_the_opening_list(monkeypatch):
    from dataclasses import replace

    from pytest_agorabench.generation import prompts

    before = prompt_fingerprint(IG)
    changed = replace(RULES, openings=OPENINGS[:-1])
    monkeypatch.setattr(prompts, "domain_rules", lambda domain: changed)
    assert prompt_fingerprint(IG) != before


def test_only_length_and_leak_checks_apply():
    assert validators.DOMAIN_CHECKS["instruction_following"] == ()
    ok = "Use three short paragraphs.\n[RESULT] is not required here."
    assert validators.validate("instruction_following", "Q?", ok) is None
    assert validators.validate("instruction_following", "Q?", "Fine.\nINPUT: another").startswith("leak")
    assert validators.validate("instruction_following", "Q?", "word " * 5000).startswith("too_long")


def test_a_trailing_note_is_cut():
    text, applied = cleanup.clean("instruction_following", "Drink water.\n\nNote: I am an AI.")
    assert text == "Drink water." and applied == ["trailing_note"]


def ctx(tmp_path, setting, attempts=2):
    return GenerationContext(setting=setting, seeds=SEEDS, journal=Journal(tmp_path / "j.jsonl"), seed=0,
                             demo_mix="intended", max_attempts=attempts)


def calls(*attempts):
    queue = list(attempts)

    async def call(system, prompt):
        return queue.pop(0)

    return call


@pytest.mark.parametrize(
    "setting, text, expected",
    [
        (IG, "Why do trains run late?\nOUTPUT: Because of delays.\n[END]", ("Why do trains run late?", "Because of delays.")),
        (RG, "Answer 0, improved. [END]", ("Question 0?", "Answer 0, improved.")),
        (QE, "Revised Question: What is 0?\nRevised Answer: Zero. [END]", ("What is 0?", "Zero.")),
    ],
)
def test_well_formed_outputs_are_accepted(tmp_path, setting, text, expected):
    row, _ = asyncio.run(ctx(tmp_path, setting).produce(0, calls(Attempt(text, "stop", 10, 5))))
    assert (row["instruction"], row["response"]) == expected


def test_bad_outputs_are_retried_then_dropped_with_their_reason(tmp_path):
    c = ctx(tmp_path, IG)
    bad = [
        Attempt("A question without the output marker", "stop", 10, 5),
        Attempt("Q?\nOUTPUT: A.\n[EXAMPLE 4] echoed from the prompt", "stop", 10, 5),
    ]
    row, meta = asyncio.run(c.produce(0, calls(*bad)))
    assert row["dropped"].startswith("leak") and row["attempts"] == 2
    assert [r.split(":")[0] for r in row["attempt_reasons"]] == ["missing_output_marker", "leak"]


def test_what_changes_per_call_follows_the_rules_every_call_shares():
    """Theme, opening and demonstrations come after the shared rules, so a batch of calls has one long
    common prefix (prefilled once by our provider, cached by vllm and APIs)."""
    a = build_prompt(IG, demos=SEEDS[:3], theme="travel", opening="Why")
    b = build_prompt(IG, demos=SEEDS[2:5], theme="cooking", opening="List")
    shared = next(i for i, (x, y) in enumerate(zip(a, b)) if x != y)
    assert a[:shared].endswith("## This example\n- Theme: ")
    assert "## Format" in a[:shared] and "## Requirements for the output" in a[:shared]
