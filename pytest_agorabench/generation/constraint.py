"""``--agora-structured=on``: how each backend is asked to keep the generator's output to the layout.

* ``agora/`` (our in-process provider) and ``vllm/`` (our vllm servers, OpenAI-compatible API): the
  layout's Lark grammar as ``extra_body.structured_outputs.grammar`` (vllm's field since 0.10.2; the old
  ``guided_*`` fields are ignored silently by current vllm, so they are never sent).
* Other OpenAI-style APIs: only a JSON schema (inspect's ``ResponseSchema``), so only the ``json`` prompt
  variant can be constrained there; any other layout is refused at start-up.
* ``agora-script/`` (scripted test generators): they write fixed texts, so a constraint has nothing to act
  on. They are accepted rather than refused because they stand in for a generator in the pipeline's own
  tests; every output is re-checked against the layout and the misfits are counted, as for vllm.
* ``mockllm/`` and other providers that cannot take a grammar: refused.

A backend may ignore a constraint silently; the generation stage therefore re-checks every output against
the layout (``Layout.fits``) and reports how many did not fit.
"""

from __future__ import annotations

from typing import Any

from pytest_agorabench.generation.layouts import Layout

GRAMMAR_BACKENDS = frozenset({"agora", "vllm"})
SCRIPT_BACKENDS = frozenset({"agora-script"})
# inspect providers that pass a JSON schema on to the model (response_format / structured outputs).
SCHEMA_BACKENDS = frozenset({"openai", "openai-api", "together", "groq", "fireworks", "openrouter", "azureai",
                             "mistral", "google", "grok", "deepseek"})


def provider_of(model: str) -> str:
    return model.split("/", 1)[0]


def structured_problem(model: str, family: str) -> str | None:
    """Why ``model`` (an inspect model string) cannot be constrained to a layout of ``family``, or None."""
    provider = provider_of(model)
    if provider in GRAMMAR_BACKENDS or provider in SCRIPT_BACKENDS:
        return None
    if provider in SCHEMA_BACKENDS:
        if family == "json":
            return None
        return (
            f"the {provider} backend of {model} takes a JSON schema only, so it can constrain only the json "
            "prompt variant; add --agora-prompts=json or use --agora-structured=off"
        )
    return (
        f"the {provider} backend of {model} cannot constrain its output to a layout; use an agora/, vllm/ or "
        "(with --agora-prompts=json) an OpenAI-compatible generator, or --agora-structured=off"
    )


def constrained_config(model: str, layout: Layout) -> dict[str, Any]:
    """The GenerateConfig fields that carry the constraint to ``model``'s backend (empty for scripts)."""
    provider = provider_of(model)
    if provider in GRAMMAR_BACKENDS:
        return {"extra_body": {"structured_outputs": {"grammar": layout.grammar()}}}
    if provider in SCHEMA_BACKENDS and layout.family == "json":
        from inspect_ai.model import ResponseSchema
        from inspect_ai.util import JSONSchema

        schema = JSONSchema.model_validate(layout.json_schema())
        name = "agorabench_" + layout.key.replace("/", "_")
        return {"response_schema": ResponseSchema(name=name, json_schema=schema, strict=True)}
    return {}
