"""The ``agora`` provider on a tiny random Llama: usage, stop strings, max_tokens, batching, determinism."""

from __future__ import annotations

import asyncio

import pytest
from inspect_ai.model import ChatMessageSystem, ChatMessageUser, GenerateConfig, get_model

from pytest_agorabench.providers.local_models import LocalModelError
from pytest_agorabench.providers.local_provider import (
    DEFAULT_MAX_TOKENS,
    SamplingParams,
    cut_at_stop,
    format_fallback,
    get_engine,
)

GREEDY = GenerateConfig(temperature=0, max_tokens=12)


def _model(path, **model_args):
    return get_model(f"agora/{path}", memoize=False, **model_args)


def _generate(model, prompt, config=GREEDY):
    return asyncio.run(model.generate(prompt, config=config))


def test_generate_reports_text_and_usage(tiny_dir):
    out = _generate(_model(tiny_dir), [ChatMessageSystem(content="be brief"), ChatMessageUser(content="what is two")])
    assert isinstance(out.completion, str) and out.completion
    assert out.usage.input_tokens > 0 and out.usage.output_tokens == 12
    assert out.usage.total_tokens == out.usage.input_tokens + out.usage.output_tokens
    assert out.stop_reason == "max_tokens"


def test_absolute_path_model_string(tiny_dir):
    # inspect hands "/abs/path" to the provider for "agora//abs/path"
    model = get_model(f"agora/{tiny_dir.resolve()}", memoize=False)
    assert model.api.engine.path == tiny_dir.resolve()


def test_greedy_is_deterministic(tiny_dir):
    model = _model(tiny_dir)
    assert _generate(model, "the cat sat").completion == _generate(model, "the cat sat").completion


def test_seeded_sampling_is_reproducible(tiny_dir):
    model = _model(tiny_dir)
    config = GenerateConfig(temperature=1.0, top_p=0.9, seed=7, max_tokens=10)
    assert _generate(model, "a red fox", config).completion == _generate(model, "a red fox", config).completion


def test_stop_string_cuts_output_and_sets_stop(tiny_dir):
    model = _model(tiny_dir)
    full = _generate(model, "numbers one two", GenerateConfig(temperature=0, max_tokens=20)).completion
    words = full.split()
    stop = next((w for i, w in enumerate(words) if i > 0 and w not in words[:i]), words[0])
    out = _generate(model, "numbers one two", GenerateConfig(temperature=0, max_tokens=20, stop_seqs=[stop]))
    assert out.completion == full[: full.find(stop)]
    assert stop not in out.completion
    assert out.stop_reason == "stop"


def test_max_tokens_budget(tiny_dir):
    out = _generate(_model(tiny_dir), "the dog ran", GenerateConfig(temperature=0, max_tokens=5))
    assert out.usage.output_tokens == 5
    assert out.stop_reason == "max_tokens"


def test_concurrent_requests_share_forward_batches(tiny_dir):
    model = _model(tiny_dir, batch_size=8, batch_wait_ms=200)
    engine = model.api.engine
    before = len(engine.batch_sizes)
    prompts = [" ".join(["the cat sat"] * (1 + i % 4)) + f" {i}" for i in range(20)]

    async def main():
        return await asyncio.gather(*(model.generate(p, config=GenerateConfig(temperature=0, max_tokens=6)) for p in prompts))

    outs = asyncio.run(main())
    sizes = engine.batch_sizes[before:]
    assert all(o.usage.output_tokens == 6 for o in outs)
    assert sum(sizes) == 20 and max(sizes) == 8
    assert len(sizes) <= 4, sizes


def test_different_parameters_never_share_a_batch(tiny_dir):
    model = _model(tiny_dir, batch_size=8, batch_wait_ms=200)
    engine = model.api.engine
    before = len(engine.batch_sizes)

    async def main():
        short = [model.generate(f"cat {i}", config=GenerateConfig(temperature=0, max_tokens=3)) for i in range(3)]
        long = [model.generate(f"dog {i}", config=GenerateConfig(temperature=0, max_tokens=7)) for i in range(3)]
        return await asyncio.gather(*short, *long)

    outs = asyncio.run(main())
    assert [o.usage.output_tokens for o in outs] == [3, 3, 3, 7, 7, 7]
    assert len(engine.batch_sizes[before:]) == 2


def test_batched_and_single_greedy_agree(tiny_dir):
    model = _model(tiny_dir, batch_size=8, batch_wait_ms=100)
    prompts = ["the cat", "write a short story about a fox", "two plus three"]
    single = [_generate(model, p).completion for p in prompts]

    async def main():
        return await asyncio.gather(*(model.generate(p, config=GREEDY) for p in prompts))

    assert [o.completion for o in asyncio.run(main())] == single


def test_chat_template_and_fallback(tiny_dir, tiny_dir_no_template):
    messages = [ChatMessageSystem(content="be brief"), ChatMessageUser(content="hello")]
    assert get_engine(tiny_dir).format_chat(messages) == "<|system|> be brief <|user|> hello <|assistant|> "
    assert get_engine(tiny_dir_no_template).format_chat(messages) == "system: be brief\nuser: hello\nassistant:"
    out = _generate(_model(tiny_dir_no_template), messages)
    assert out.usage.output_tokens == 12


def test_config_mapping():
    greedy = SamplingParams.from_config(GenerateConfig(temperature=0))
    assert not greedy.do_sample and greedy.max_new_tokens == DEFAULT_MAX_TOKENS
    assert not SamplingParams.from_config(GenerateConfig()).do_sample
    sampled = SamplingParams.from_config(
        GenerateConfig(temperature=1.0, top_p=0.9, max_tokens=64, seed=3, stop_seqs=["[END]"],
                       extra_body={"repetition_penalty": 1.03})
    )
    assert (sampled.do_sample, sampled.temperature, sampled.top_p, sampled.top_k) == (True, 1.0, 0.9, 0)
    assert (sampled.max_new_tokens, sampled.seed, sampled.stop_seqs) == (64, 3, ("[END]",))
    assert sampled.repetition_penalty == pytest.approx(1.03)


def test_eos_and_budget_stop_reasons(tiny_dir):
    engine = get_engine(tiny_dir)
    eos, word = engine.eos_ids[0], engine.tokenizer.convert_tokens_to_ids("cat")
    params = SamplingParams.from_config(GenerateConfig(temperature=0, max_tokens=4))
    ended = engine._completion([word, eos, engine.pad_id, engine.pad_id], 5, params)
    assert (ended.text, ended.stop_reason, ended.output_tokens) == ("cat", "stop", 2)
    assert engine._completion([word] * 4, 5, params).stop_reason == "max_tokens"


def test_cut_at_stop_uses_earliest_stop():
    assert cut_at_stop("a [END] b STOP", ["STOP", "[END]"]) == ("a ", True)
    assert cut_at_stop("plain", ["x"]) == ("plain", False)
    assert format_fallback([{"role": "user", "content": "hi"}]) == "user: hi\nassistant:"


def test_unknown_model_args_are_rejected(tiny_dir):
    with pytest.raises(ValueError, match="batch_size"):
        get_model(f"agora/{tiny_dir}", memoize=False, batch_sise=4)


def test_unknown_local_model_is_a_clear_error():
    with pytest.raises(LocalModelError, match="smollm2-135m"):
        get_model("agora/smollm3", memoize=False)


def test_a_seeded_request_gets_the_same_sample_in_any_batch(tiny_dir):
    """Each row draws from its own seed: who else shares the batch cannot change a seeded answer."""
    model = _model(tiny_dir, batch_size=8, batch_wait_ms=200)
    engine = model.api.engine
    sampled = GenerateConfig(temperature=1.0, top_p=0.95, max_tokens=16)

    def batch(prompts_and_seeds):
        async def run():
            return await asyncio.gather(
                *(model.generate(p, config=sampled.merge(GenerateConfig(seed=s))) for p, s in prompts_and_seeds)
            )

        before = len(engine.batch_sizes)
        outs = asyncio.run(run())
        assert engine.batch_sizes[before:] == [len(prompts_and_seeds)]  # one shared forward batch
        return [o.completion for o in outs]

    alone = batch([("a red fox", 11)])[0]
    mixed = batch([("the longest prompt of the batch by far, so padding moves", 5), ("a red fox", 11), ("x", 3)])
    other = batch([("a red fox", 11), ("a red fox", 12)])
    assert mixed[1] == alone and other[0] == alone
    # The seed does matter: the same prompt with other seeds gives other samples.
    assert len({alone, other[1], *batch([("a red fox", s) for s in range(20, 24)])}) > 1


def test_row_sampler_draws_from_the_warped_distribution():
    """Gumbel-max over temperature / top-k / top-p warped logits: tokens outside the nucleus never appear
    and the frequencies follow the softmax."""
    import torch

    from pytest_agorabench.providers._sampling import RowSampler

    logits = torch.log(torch.tensor([[0.5, 0.3, 0.15, 0.05]]))
    counts = torch.zeros(4)
    for seed in range(2000):
        sampler = RowSampler([seed], temperature=1.0, top_p=0.8, top_k=None, device="cpu")
        counts[int(sampler(None, logits.clone()).argmax())] += 1
    # top_p 0.8 keeps {0.5, 0.3}: renormalised 0.625 / 0.375
    assert counts[2] == counts[3] == 0
    assert abs(counts[0] / 2000 - 0.625) < 0.04
    top1 = RowSampler([0], temperature=1.0, top_p=None, top_k=1, device="cpu")
    assert int(top1(None, logits.clone()).argmax()) == 0


def test_nucleus_from_the_probe_equals_the_full_sort_rule():
    """Top-p settled from the first NUCLEUS_PROBE tokens drops exactly what sorting the whole vocabulary
    drops, both for peaked rows (settled by topk) and flat rows whose nucleus reaches past the probe."""
    import torch

    from pytest_agorabench.providers._sampling import NUCLEUS_PROBE, nucleus_drop

    def full_sort(scores, top_p):
        sorted_scores, order = torch.sort(scores, descending=True, dim=-1)
        probs = sorted_scores.softmax(dim=-1)
        drop_sorted = (probs.cumsum(dim=-1) - probs) >= top_p
        return drop_sorted.scatter(-1, order, drop_sorted)

    g = torch.Generator().manual_seed(0)
    vocab = 20 * NUCLEUS_PROBE
    peaked = torch.randn(6, vocab, generator=g) * 6.0
    flat = torch.randn(3, vocab, generator=g) * 0.1
    masked = peaked[:2].masked_fill(torch.rand(2, vocab, generator=g) < 0.99, float("-inf"))  # a layout mask
    scores = torch.cat([peaked, flat, masked])
    for top_p in (0.5, 0.9, 0.99):
        assert torch.equal(nucleus_drop(scores, top_p), full_sort(scores, top_p))
    # The flat rows keep far more than the probe: the fallback really ran.
    assert int((~nucleus_drop(scores, 0.9))[6:9].sum(dim=-1).min()) > NUCLEUS_PROBE


def _batch_of(model, prompts, config):
    async def run():
        return await asyncio.gather(*(model.generate(p, config=config.merge(GenerateConfig(seed=k))) for k, p in enumerate(prompts)))

    return [o.completion for o in asyncio.run(run())]


def test_a_shared_prompt_prefix_is_prefilled_once_with_the_same_answers(tiny_dir, monkeypatch):
    """Rows that start alike (one setting's guidelines) prefill their common prefix once; the answers are
    those of the plain left-padded batch, greedy and sampled."""
    import pytest_agorabench.providers.local_provider as local_provider

    model = _model(tiny_dir, batch_size=8, batch_wait_ms=200)
    engine = model.api.engine
    shared = "the cat sat on the mat and the dog ran to the red fox " * 3
    prompts = [shared + tail for tail in ("two plus three", "a", "write a short story about a fox")]
    forward = engine.model.forward
    widths: list[int] = []

    def counting(*args, **kwargs):
        widths.append(kwargs["input_ids"].shape[1])
        return forward(*args, **kwargs)

    monkeypatch.setattr(engine.model, "forward", counting)
    outputs, least = {}, local_provider.MIN_SHARED_PREFIX
    for label, minimum in (("shared", least), ("plain", 10**9)):
        monkeypatch.setattr(local_provider, "MIN_SHARED_PREFIX", minimum)
        widths.clear()
        outputs[label] = [_batch_of(model, prompts, c) for c in (GREEDY, GenerateConfig(temperature=1.0, max_tokens=12))]
        first_forwards = [w for w in widths if w > 1]
        outputs[label + "_widths"] = first_forwards
    assert outputs["shared"][0] == outputs["plain"][0] and outputs["shared"][1] == outputs["plain"][1]
    full = max(len(engine.encode(engine.format_chat([ChatMessageUser(content=p)]))) for p in prompts)
    # Plain: each batch prefills whole padded prompts. Shared: the prefix once, then only the suffixes.
    assert outputs["plain_widths"] == [full, full]
    prefix, suffix = outputs["shared_widths"][:2]
    assert prefix >= least and suffix < full - prefix + 8
    assert len(outputs["shared_widths"]) == 4


def test_the_common_prefix_is_counted_in_tokens():
    from pytest_agorabench.providers.local_provider import _common_prefix_len

    assert _common_prefix_len([[5, 6, 7], [5, 9], [8]]) == 0
    assert _common_prefix_len([[1, 2, 3, 4], [1, 2, 3], [1, 2, 3, 9]]) == 3


def test_the_reserved_cache_writes_in_place_and_changes_no_answer(tiny_dir, monkeypatch):
    """Decoding into a cache reserved for the whole generation (no per-step copy) gives the answers of
    transformers' own growing cache, with and without a shared prefix."""
    from transformers.cache_utils import DynamicCache

    import pytest_agorabench.providers.local_provider as local_provider

    model = _model(tiny_dir, batch_size=8, batch_wait_ms=200)
    engine = model.api.engine
    assert engine._reserve  # a Llama: every layer full attention
    generate = engine.model.generate
    caches: list = []

    def spying(*args, **kwargs):
        caches.append(kwargs.get(engine._cache_arg))
        return generate(*args, **kwargs)

    monkeypatch.setattr(engine.model, "generate", spying)
    shared = "the cat sat on the mat and the dog ran to the red fox " * 3
    answers = {}
    for reserve in (False, True):
        monkeypatch.setattr(engine, "_reserve", reserve)
        for label, prompts in (("shared", [shared + "a", shared + "two plus three"]), ("apart", ["a", "write a fox"])):
            answers[reserve, label] = _batch_of(model, prompts, GenerateConfig(temperature=1.0, max_tokens=12))
    assert answers[False, "shared"] == answers[True, "shared"] and answers[False, "apart"] == answers[True, "apart"]
    kinds = [type(c).__name__ if c is not None else None for c in caches]
    assert kinds[:2] == ["DynamicCache", None] and all(not isinstance(c, DynamicCache) for c in caches[2:])
    assert all(type(layer).__name__ == "ReservedLayer" for layer in caches[2].layers)
