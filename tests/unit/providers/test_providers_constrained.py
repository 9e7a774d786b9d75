"""Constrained decoding in the ``agora`` provider (providers/constrained.py) on a tiny random model, which
rambles as a weak generator does: every layout is completed within the budget, closes are counted, seeded
rows stay reproducible, and a bad constraint is a clear error."""

from __future__ import annotations

import asyncio
import re

import pytest
from inspect_ai.model import ChatMessageUser, GenerateConfig, get_model

from pytest_agorabench.generation.layouts import FAMILIES, layout_for
from pytest_agorabench.providers.constrained import FORCE_CLOSED_KEY, ConstraintError
from pytest_agorabench.providers.local_provider import SamplingParams, get_engine
from pytest_agorabench.settings import SETTINGS

pytest.importorskip("llguidance")
LAYOUTS = [layout_for(f, s) for f in FAMILIES for s in SETTINGS]
BUDGET = 160


def params(grammar: dict | None, max_tokens: int = BUDGET, seed: int | None = None) -> SamplingParams:
    extra = {"structured_outputs": grammar} if grammar else {}
    config = GenerateConfig(temperature=1.0, top_p=0.9, max_tokens=max_tokens, stop_seqs=["[END]"], seed=seed,
                            extra_body=extra)
    return SamplingParams.from_config(config)


def prompts(engine, n: int) -> list[tuple[str, int]]:
    text = engine.format_chat([ChatMessageUser(content="the cat sat on the mat")])
    return [(text, 100 + k) for k in range(n)]


@pytest.mark.parametrize("layout", LAYOUTS, ids=lambda l: l.key)
def test_every_layout_is_completed_within_the_budget_and_parses(layout, tiny_bytes_dir):
    engine = get_engine(str(tiny_bytes_dir), "cpu")
    outs = engine.run_batch(prompts(engine, 3), params({"grammar": layout.grammar()}))
    for out in outs:
        assert out.stop_reason == "stop" and out.output_tokens <= BUDGET
        assert layout.fits(out.text), out.text
        assert not isinstance(layout.parse(out.text, {"instruction": "seed"}), str), out.text
    if layout.family == "text":  # a random model seldom writes a multi-character marker by chance
        assert sum(out.force_closed for out in outs) >= 1


@pytest.mark.parametrize("budget", [40, 80])
def test_a_tight_budget_closes_every_part_on_time(budget, tiny_bytes_dir):
    engine = get_engine(str(tiny_bytes_dir), "cpu")
    layout = layout_for("json", SETTINGS[0])  # math instance generation: four slots inside JSON strings
    outs = engine.run_batch(prompts(engine, 3), params({"grammar": layout.grammar()}, max_tokens=budget))
    assert all(o.output_tokens <= budget and layout.fits(o.text) for o in outs), [o.text for o in outs]
    assert all(o.force_closed >= 1 for o in outs)


def test_without_the_constraint_the_same_model_does_not_fit(tiny_bytes_dir):
    engine = get_engine(str(tiny_bytes_dir), "cpu")
    layout = LAYOUTS[0]
    outs = engine.run_batch(prompts(engine, 3), params(None))
    assert not any(layout.fits(o.text) for o in outs) and all(o.force_closed == 0 for o in outs)


def test_a_seeded_constrained_row_is_the_same_alone_and_in_a_batch(tiny_bytes_dir):
    engine = get_engine(str(tiny_bytes_dir), "cpu")
    grammar = {"grammar": layout_for("text", SETTINGS[0]).grammar()}
    alone = engine.run_batch(prompts(engine, 1), params(grammar))[0]
    text = engine.format_chat([ChatMessageUser(content="a much longer and different prompt for the batch")])
    batched = engine.run_batch(prompts(engine, 1) + [(text, 5), (text, 6)], params(grammar))[0]
    assert alone.text == batched.text and alone.force_closed == batched.force_closed


def test_a_foreign_grammar_is_masked_without_closing(tiny_bytes_dir):
    engine = get_engine(str(tiny_bytes_dir), "cpu")
    outs = engine.run_batch(prompts(engine, 2), params({"regex": "[ab]+"}, max_tokens=12))
    assert all(re.fullmatch("[ab]+", o.text) and o.force_closed == 0 for o in outs)


def test_the_provider_reports_closed_parts_in_the_output_metadata(tiny_bytes_dir):
    model = get_model(f"agora/{tiny_bytes_dir}", memoize=False)
    grammar = layout_for("text", SETTINGS[0]).grammar()
    config = GenerateConfig(temperature=1.0, max_tokens=BUDGET, stop_seqs=["[END]"], seed=3,
                            extra_body={"structured_outputs": {"grammar": grammar}})
    out = asyncio.run(model.generate([ChatMessageUser(content="the cat")], config=config))
    assert out.metadata[FORCE_CLOSED_KEY] >= 1 and layout_for("text", SETTINGS[0]).fits(out.completion)


@pytest.mark.parametrize(
    ("structured", "match"),
    [({"grammar": "start: ("}, "does not compile"), ({"guided_regex": "x"}, "exactly one of"),
     ({"grammar": "start: /a/", "regex": "a"}, "exactly one of")],
)
def test_a_bad_constraint_is_a_clear_error(structured, match, tiny_bytes_dir):
    engine = get_engine(str(tiny_bytes_dir), "cpu")
    with pytest.raises(ConstraintError, match=match):
        engine.run_batch(prompts(engine, 1), params(structured))


def test_the_generation_stage_constrains_our_provider_end_to_end(tiny_bytes_dir, tmp_path):
    from pytest_agorabench.files import Journal
    from pytest_agorabench.generation import run_generation
    from pytest_agorabench.settings import get_setting

    seeds = [{"id": f"s{i}", "instruction": f"Problem {i}?", "response": "old"} for i in range(3)]
    args = dict(model=f"agora/{tiny_bytes_dir}", instances=3, max_tokens=120, max_attempts=1, seed=5,
                demo_mix="intended", log_dir=tmp_path / "logs", concurrency=3)
    setting = get_setting("math/quality_enhancement")
    on = run_generation(setting, seeds, journal=Journal(tmp_path / "on.jsonl"), structured=True, **args)
    off = run_generation(setting, seeds, journal=Journal(tmp_path / "off.jsonl"), **args)
    # A random model: every constrained row is valid (its parts closed for it, and counted); free text is not.
    assert len(on.rows) == 3 and on.misfits == 0 and on.force_closed >= 1
    assert len(off.rows) == 0


def test_a_tokenizer_llguidance_cannot_read_is_a_clear_error(tiny_dir):
    engine = get_engine(str(tiny_dir), "cpu")  # a word-level vocabulary: no bytes to build a mask from
    with pytest.raises(ConstraintError, match="cannot be used for structured outputs.*--agora-structured=off"):
        engine.run_batch(prompts(engine, 1), params({"regex": "(cat|dog)+"}))


def test_a_constraint_the_provider_cannot_apply_stops_the_stage_with_its_sentence(tiny_dir, tmp_path):
    from pytest_agorabench.files import Journal
    from pytest_agorabench.generation import GenerationIncomplete, run_generation
    from pytest_agorabench.settings import get_setting

    seeds = [{"id": "s0", "instruction": "Problem 0?", "response": "old"}]
    with pytest.raises(GenerationIncomplete, match="cannot be used for structured outputs"):
        run_generation(get_setting("math/response_generation"), seeds, model=f"agora/{tiny_dir}", instances=1,
                       max_tokens=20, max_attempts=2, seed=0, demo_mix="intended", journal=Journal(tmp_path / "j.jsonl"),
                       log_dir=tmp_path / "logs", concurrency=1, structured=True)
    assert not Journal(tmp_path / "j.jsonl").rows  # no attempt was journaled as a drop
