"""Checks made at start-up, before any model call, so a run that cannot finish fails in seconds with a
sentence instead of after the money is spent.

- ``check_models``: every model the run will call (the generator; the judge, which grades the intrinsic
  metrics in every setting and judges the instruction-following benchmarks): its inspect provider is known,
  its package installed and its API key present; a judge with an API key also answers one cheap request, so
  a key that cannot authenticate is found now. Weights we serve ourselves (``agora/``, ``vllm/``, ``hf/``)
  are loaded by the stages that use them; for ``vllm/`` (and profiles that serve students with vllm) the
  interpreter that runs vllm must exist.
- ``check_setting``: what one selected case reads: its seed source, every benchmark source, a judge where a
  benchmark is judged, and its prompt file when prompts come from a folder.
Option values and writable paths are checked by ``config.build_config`` before this runs.
"""

from __future__ import annotations

import difflib
import os
import re
from typing import Any

from pytest_agorabench.config import RunConfig
from pytest_agorabench.errors import AgoraBenchError
from pytest_agorabench.models import resolve_model
from pytest_agorabench.settings import Setting

# Providers whose weights we load ourselves: constructing their inspect model would load or serve them.
LOCAL_WEIGHTS = frozenset({"agora", "vllm", "hf", "sglang", "llama-cpp-python", "transformer_lens", "ollama"})
# API providers and the environment variable that holds their key (checked before any call).
API_KEYS = {
    "openai": "OPENAI_API_KEY",
    "anthropic": "ANTHROPIC_API_KEY",
    "together": "TOGETHER_API_KEY",
    "google": "GOOGLE_API_KEY",
    "mistral": "MISTRAL_API_KEY",
    "groq": "GROQ_API_KEY",
    "grok": "XAI_API_KEY",
    "fireworks": "FIREWORKS_API_KEY",
    "openrouter": "OPENROUTER_API_KEY",
    "perplexity": "PERPLEXITY_API_KEY",
    "deepseek": "DEEPSEEK_API_KEY",
}
_MARKUP = re.compile(r"\[/?(?:bold|red|yellow|blue|green|dim)\]")


class PreflightError(AgoraBenchError):
    """Something the run needs is missing; found before any model call. The message says what to do."""


def check_models(config: RunConfig, cheap_call: bool = True) -> None:
    """Raise PreflightError naming every model of the run that cannot be called."""
    problems = []
    roles = [("--generator", config.generator)] + ([("--judge", config.judge)] if config.judge else [])
    for option, name in roles:
        why = model_problem(resolve_model(name).inspect_model, cheap_call=cheap_call and option == "--judge")
        if why:
            problems.append(f"{option} {name}: {why}")
    if config.profile.serving == "vllm":
        why = model_problem("vllm/student")
        if why:
            problems.append(f"the {config.profile.name} profile serves its students with vllm: {why}")
    if problems:
        raise PreflightError("; ".join(problems))


def model_problem(model: str, cheap_call: bool = False) -> str | None:
    """Why ``model`` (an inspect model string) cannot be called, or None."""
    provider = model.split("/", 1)[0]
    if provider == "vllm":  # served by us (serving/): the interpreter that runs vllm must exist
        from pytest_agorabench.serving.vllm_launch import VllmMissing, vllm_python

        try:
            vllm_python()
        except VllmMissing as exc:
            return str(exc)
        return None
    if provider in LOCAL_WEIGHTS:
        return None
    key = API_KEYS.get(provider)
    if key and not os.environ.get(key):
        return f"the {provider} provider needs the environment variable {key} (no key is set)"
    from inspect_ai.model import get_model

    try:
        api = get_model(model, memoize=False)
    except AgoraBenchError as exc:
        return str(exc)
    except Exception as exc:  # noqa: BLE001 - inspect's own errors: unknown provider, missing package, bad key
        return _provider_error(provider, exc)
    if cheap_call and key:
        return _answers(api)
    return None


def _provider_error(provider: str, exc: Exception) -> str:
    text = " ".join(_MARKUP.sub("", str(exc)).split())
    if "not recognized" in text:
        known = sorted(set(API_KEYS) | LOCAL_WEIGHTS | {"mockllm", "agora-script", "azureai", "bedrock", "vertex"})
        hint = difflib.get_close_matches(provider, known, n=1)
        return f"no inspect provider is called {provider!r}" + (f"; did you mean {hint[0]!r}?" if hint else "")
    return text


def _answers(api: Any) -> str | None:
    """One request of a single token: a key that cannot authenticate (or a model name the API does not
    serve) fails here, in seconds, instead of on every judgment after the generation and training."""
    import asyncio

    from inspect_ai.model import GenerateConfig

    async def ask() -> None:
        await api.generate("Reply with the word OK.", config=GenerateConfig(max_tokens=1, max_retries=0, timeout=60))

    try:
        asyncio.run(ask())
    except Exception as exc:  # noqa: BLE001 - whatever the provider raised is the answer to "can we call it?"
        return f"a one-token test request failed: {' '.join(_MARKUP.sub('', str(exc)).split())[:300]}"
    return None


def check_setting(setting: Setting, config: RunConfig) -> None:
    """Raise PreflightError naming what this case would read and cannot. Local seed and benchmark files are
    read now (they are small, and reading is the only complete check of their format); hub sources are read
    by the stages (reading them here would download them twice)."""
    from pytest_agorabench.evaluation.benchmarks import get_benchmark
    from pytest_agorabench.generation.meta_prompts import meta_prompts
    from pytest_agorabench.pipeline import case_seeds
    from pytest_agorabench.pipeline.evaluate import benchmark_items, benchmark_names

    problems = []
    if config.seed_file is not None or config.profile.data_source != "hub":
        problems += _problem(lambda: case_seeds(setting, config))
    for name in benchmark_names(setting, config):
        if config.benchmark_dir is not None or config.profile.data_source != "hub":
            problems += _problem(lambda: benchmark_items(name, config))
        if get_benchmark(name).scorer.startswith("judge:") and config.judge is None:
            problems.append(f"{name} is judged by a language model: name one with --judge")
    problems += _problem(lambda: meta_prompts(config.prompts).check(setting))
    if problems:
        raise PreflightError(f"{setting.key}: " + "; ".join(problems))


def _problem(check: Any) -> list[str]:
    try:
        check()
    except AgoraBenchError as exc:
        return [str(exc)]
    return []
