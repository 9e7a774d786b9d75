"""Meta-prompt variants (agorabench / unoptimized / json) for all nine settings, and the json parser."""

import asyncio
import json

import pytest

from pytest_agorabench.generation.instance import Attempt, GenerationContext
from pytest_agorabench.generation.meta_prompts import MetaPrompts, meta_prompts
from pytest_agorabench.generation.parse import Parsed, parse_json_output
from pytest_agorabench.generation.prompts import VARIANTS, build_prompt, domain_rules, prompt_fingerprint
from pytest_agorabench.generation.prompts.json_format import strip_fence
from pytest_agorabench.generation.runner import collect
from pytest_agorabench.settings import SETTINGS, Method, get_setting
from pytest_agorabench.files import Journal

DEMOS = [
    {"instruction": f'Question {k} with "quotes"\nand a newline?', "response": f"Answer {k}.\n[RESULT] {k} [/RESULT]"}
    for k in range(3)
]
SEED = {"instruction": "What is 3 + 4?", "response": "It is 7. [RESULT] 7 [/RESULT]"}


def render(setting, variant):
    rules = domain_rules(setting.domain)
    return build_prompt(
        setting,
        demos=DEMOS,
        theme="a theme",
        opening=rules.openings[0] if rules.openings else None,
        seed_row=SEED,
        variant=variant,
    )


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.id)
def test_every_variant_renders_for_every_setting_with_its_own_fingerprint(setting):
    prints = {v: prompt_fingerprint(setting, v) for v in VARIANTS}
    assert len(set(prints.values())) == len(VARIANTS)
    for variant in VARIANTS:
        text = render(setting, variant)
        if setting.method is Method.INSTANCE_GENERATION:
            assert "a theme" in text
            assert all(d["instruction"].split("\n")[0].split('"')[0] in text for d in DEMOS)
        else:
            assert SEED["instruction"] in text


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.id)
def test_unoptimized_has_no_rule_sections_but_keeps_the_validators_format_line(setting):
    text = render(setting, "unoptimized")
    default = render(setting, "agorabench")
    assert "## Requirements" not in text and "## Requirements" in default
    assert len(text) < len(default)
    rules = domain_rules(setting.domain)
    if rules.answer_format:
        assert rules.answer_format in text
    if setting.method is Method.INSTANCE_GENERATION:
        assert text.endswith("INPUT: ")  # same layout, so the default parser applies
        if rules.openings:
            assert f'"{rules.openings[0]}"' in text


def test_math_and_code_state_the_answer_format_instruction_following_needs_none():
    assert "[RESULT]" in domain_rules("math").answer_format
    assert "fenced" in domain_rules("code").answer_format
    assert domain_rules("instruction_following").answer_format == ""


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.id)
def test_json_variant_shows_the_demonstrations_as_json_and_asks_for_the_right_keys(setting):
    text = render(setting, "json")
    if setting.method is Method.INSTANCE_GENERATION:
        shown = [json.loads(line) for line in text.splitlines() if line.startswith('{"instruction"')]
        assert [s["instruction"] for s in shown] == [d["instruction"].strip() for d in DEMOS]
        assert '"instruction" and "response"' in text
    elif setting.method is Method.RESPONSE_GENERATION:
        assert 'whose only key is "response"' in text
    else:
        assert json.loads(text.strip().splitlines()[-1]) == {"question": SEED["instruction"], "answer": SEED["response"]}


def test_json_parser_plain_fenced_and_failures():
    ig = Method.INSTANCE_GENERATION
    obj = {"instruction": "Q?", "response": "A.\n[RESULT] 1 [/RESULT]"}
    assert parse_json_output(ig, json.dumps(obj)) == Parsed("Q?", obj["response"], fence_stripped=False)
    fenced = "```json\n" + json.dumps(obj, indent=2) + "\n```"
    assert parse_json_output(ig, fenced) == Parsed("Q?", obj["response"], fence_stripped=True)
    assert parse_json_output(ig, json.dumps(obj) + " [END]").instruction == "Q?"
    assert parse_json_output(ig, "Sure! " + json.dumps(obj)).startswith("json_invalid:")
    assert parse_json_output(ig, "[1, 2]").startswith("json_not_object:")
    assert parse_json_output(ig, '{"instruction": "Q?"}').startswith("json_keys:")
    assert parse_json_output(ig, '{"instruction": "Q?", "response": 3}').startswith("json_keys:")
    assert parse_json_output(ig, "   ").startswith("empty_output:")
    # Strict JSON, as json.loads: a raw newline inside a string is invalid.
    assert parse_json_output(ig, '{"instruction": "Q\n?", "response": "A"}').startswith("json_invalid:")


def test_json_response_generation_takes_the_instruction_from_the_seed():
    rg = Method.RESPONSE_GENERATION
    got = parse_json_output(rg, '{"response": "It is 7. [RESULT] 7 [/RESULT]"}', SEED)
    assert got == Parsed(SEED["instruction"], "It is 7. [RESULT] 7 [/RESULT]")
    with pytest.raises(ValueError):
        parse_json_output(rg, '{"response": "x"}')


def test_strip_fence_only_strips_one_surrounding_fence():
    assert strip_fence('```\n{"a": 1}\n```') == ('{"a": 1}', True)
    assert strip_fence('{"a": "```x```"}') == ('{"a": "```x```"}', False)


def ctx(tmp_path, setting, prompts):
    return GenerationContext(
        setting=get_setting(setting),
        seeds=[SEED, *DEMOS],
        journal=Journal(tmp_path / f"{prompts.variant}.jsonl"),
        seed=0,
        demo_mix="intended",
        max_attempts=2,
        prompts=prompts,
    )


def test_json_variant_end_to_end_in_the_retry_loop_counts_fenced_outputs(tmp_path):
    c = ctx(tmp_path, "math/quality_enhancement", meta_prompts("json"))
    answer = {"instruction": "What is 3 + 4?", "response": "3 + 4 = 7.\n[RESULT] 7 [/RESULT]"}
    replies = iter(
        [
            Attempt("Revised Question: x\nRevised Answer: y", "stop", 10, 5),  # the default layout: not JSON
            Attempt("```json\n" + json.dumps(answer) + "\n```", "stop", 10, 5),
            Attempt(json.dumps(answer), "stop", 10, 5),
        ]
    )
    prompts_seen = []

    async def call(system, prompt):
        prompts_seen.append(prompt)
        return next(replies)

    row0, _ = asyncio.run(c.produce(0, call))
    row1, _ = asyncio.run(c.produce(1, call))
    assert row0["attempts"] == 2 and row0["fence_stripped"] is True
    assert "fence_stripped" not in row1 and row1["response"] == answer["response"]
    assert '"instruction" and "response"' in prompts_seen[0]
    assert collect(c.journal, 2).fence_stripped == 1


def test_unoptimized_variant_uses_the_default_parser(tmp_path):
    c = ctx(tmp_path, "math/response_generation", meta_prompts("unoptimized"))

    async def call(system, prompt):
        assert "## Requirements" not in prompt
        return Attempt("3 + 4 = 7.\n[RESULT] 7 [/RESULT]", "stop", 10, 5)

    row, _ = asyncio.run(c.produce(0, call))
    assert row["instruction"] == SEED["instruction"] and row["attempts"] == 1


def test_meta_prompts_names_and_unknown_variant():
    assert meta_prompts(None) == MetaPrompts() and MetaPrompts().name == "agorabench"
    assert meta_prompts("json").name == "json"
    with pytest.raises(ValueError, match="unknown prompt variant"):
        build_prompt(get_setting("math/response_generation"), seed_row=SEED, variant="fancy")
