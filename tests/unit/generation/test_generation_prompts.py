"""Meta-prompt layout: three examples, dangling INPUT, theme and our rules present (AGORABENCH.md 2.2-2.4)."""

import re
import sys

import pytest

from pytest_agorabench.generation.prompts import (
    SYSTEM_MESSAGE,
    DomainNotImplementedError,
    build_prompt,
    domain_rules,
    prompt_fingerprint,
)
from pytest_agorabench.generation.prompts import math as math_prompts
from pytest_agorabench.settings import SETTINGS, get_setting

IG = get_setting("math/instance_generation")
RG = get_setting("math/response_generation")
QE = get_setting("math/quality_enhancement")
DEMOS = [{"instruction": f"Question {k}?", "response": f"Step.\n[RESULT] {k} [/RESULT]"} for k in range(3)]


def test_system_message_is_one_sentence():
    assert SYSTEM_MESSAGE.count(".") == 1 and SYSTEM_MESSAGE.endswith(".")
    assert "generat" in SYSTEM_MESSAGE


def test_instance_generation_layout():
    prompt = build_prompt(IG, demos=DEMOS, theme="graph theory")
    assert [int(k) for k in re.findall(r"\[EXAMPLE (\d)\]", prompt)] == [1, 2, 3]
    for k, demo in enumerate(DEMOS, start=1):
        block = f"[EXAMPLE {k}]\nINPUT: {demo['instruction']}\nOUTPUT: {demo['response']}\n[END]"
        assert block in prompt
    # Rule sections come before the examples, the new-instance header after, then a dangling INPUT.
    assert prompt.index("## General guideline") < prompt.index("## Requirements for the input")
    assert prompt.index("## Format") < prompt.index("[EXAMPLE 1]")
    assert prompt.endswith("[YOUR NEW EXAMPLE]\nINPUT: ")
    # The theme once, after every shared rule and before the examples (the prompts of a batch share a prefix).
    assert prompt.count("graph theory") == 1
    assert prompt.index("## Format") < prompt.index("## This example\n- Theme: graph theory") < prompt.index("[EXAMPLE 1]")
    for rule in (*math_prompts.RULES.ig_input_rules[1:], *math_prompts.RULES.ig_output_rules):
        assert rule in prompt
    assert "[RESULT] answer [/RESULT]" in prompt and "Q.E.D." in prompt
    assert '"OUTPUT:"' in prompt and '"[END]"' in prompt


def test_instance_generation_needs_demos_and_theme():
    with pytest.raises(ValueError):
        build_prompt(IG, demos=DEMOS)
    with pytest.raises(ValueError):
        build_prompt(IG, theme="algebra")


def test_braces_in_rules_stay_literal():
    assert "\\boxed{}" in build_prompt(IG, demos=DEMOS, theme="algebra")


def test_response_generation_layout():
    prompt = build_prompt(RG, seed_row={"instruction": "  Find x if 2x = 6.  ", "response": "ignored"})
    assert prompt.endswith("INPUT: Find x if 2x = 6.\n\nOUTPUT: ")
    assert "ignored" not in prompt
    assert '" [END]"' in prompt and "[RESULT] answer [/RESULT]" in prompt
    assert prompt.index("## Requirements") < prompt.index("INPUT: Find x")


def test_quality_enhancement_layout():
    prompt = build_prompt(QE, seed_row={"instruction": "wat is 2+2", "response": "its 4 lol"})
    assert "Revised Question: <the improved question>\nRevised Answer: <the improved answer> [END]" in prompt
    assert "Question: wat is 2+2" in prompt and "Answer: its 4 lol" in prompt
    for word in ("Formatting", "Coherence and conciseness", "Completeness and accuracy", "certain"):
        assert word in prompt
    assert "[RESULT] answer [/RESULT]" in prompt


def test_math_themes_cover_the_protocol_list():
    themes = math_prompts.THEMES
    assert 30 <= len(themes) <= 40 and len(set(themes)) == len(themes)
    for topic in ("algebra", "counting and probability", "topology", "graph theory", "set theory"):
        assert topic in themes
    assert any("remainders" in t for t in themes) and any("logarithms" in t for t in themes)


def test_fingerprint_is_stable_and_differs_by_method():
    fps = {s.key: prompt_fingerprint(s) for s in (IG, RG, QE)}
    assert len(set(fps.values())) == 3
    assert prompt_fingerprint(IG) == fps[IG.key]
    assert re.fullmatch(r"[0-9a-f]{64}", fps[IG.key])


def test_fingerprint_changes_with_the_rules(monkeypatch):
    before = prompt_fingerprint(RG)
    changed = math_prompts.RULES.__class__(**{**math_prompts.RULES.__dict__, "rg_task": "Solve it."})
    monkeypatch.setattr(math_prompts, "RULES", changed)
    assert prompt_fingerprint(RG) != before
    assert domain_rules("math").rg_task == "Solve it."


def test_unimplemented_domain_is_a_clear_error(monkeypatch):
    code = next(s for s in SETTINGS if s.domain.value == "code")
    monkeypatch.setitem(sys.modules, "pytest_agorabench.generation.prompts.code", None)  # as if it did not exist
    with pytest.raises(DomainNotImplementedError, match="code"):
        build_prompt(code, seed_row={"instruction": "x", "response": "y"})
