"""Model aliases -> inspect model strings, with prices; and the names of our offline local models.

Any string containing "/" is taken as an inspect model string (``openai/gpt-4o``, ``vllm/org/model``,
``agora/<path>``). A bare name must be one of the aliases below.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from pytest_agorabench.errors import AgoraBenchError

# Our in-process inspect provider (pytest_agorabench/providers) serves these names offline.
LOCAL_API = "agora"
SCRIPT_API = "agora-script"
SMOLLM2 = "smollm2-135m"
TINY_STUDENT = "tiny"
# The smoke profile's pairwise judge: checks answers against the smoke world's rules (evaluation/smoke_judge.py).
SMOKE_JUDGE = "smoke-judge"


@dataclass(frozen=True)
class ModelSpec:
    name: str  # what the user typed
    inspect_model: str  # what inspect gets
    usd_per_1m_input: float | None = None
    usd_per_1m_output: float | None = None
    hf_id: str | None = None  # weights for training / local serving, when known
    paper_name: str | None = None  # row name in the paper's tables

    @property
    def priced(self) -> bool:
        return self.usd_per_1m_input is not None and self.usd_per_1m_output is not None

    def cost(self, input_tokens: int, output_tokens: int) -> float | None:
        if not self.priced:
            return None
        return (input_tokens * self.usd_per_1m_input + output_tokens * self.usd_per_1m_output) / 1e6


# Prices: AGORABENCH.md section 7 (paper Table 3), USD per million tokens.
ALIASES: dict[str, ModelSpec] = {
    "gpt-4o": ModelSpec("gpt-4o", "openai/gpt-4o-2024-08-06", 2.50, 10.00, paper_name="GPT-4o"),
    "gpt-4o-mini": ModelSpec(
        "gpt-4o-mini", "openai/gpt-4o-mini-2024-07-18", 0.15, 0.60, paper_name="GPT-4o-mini"
    ),
    "claude-3.5-sonnet": ModelSpec(
        "claude-3.5-sonnet",
        "anthropic/claude-3-5-sonnet-20240620",
        3.00,
        15.00,
        paper_name="Claude-3.5-Sonnet",
    ),
    "llama-3.1-405b": ModelSpec(
        "llama-3.1-405b",
        "together/meta-llama/Meta-Llama-3.1-405B-Instruct-Turbo",
        1.79,
        1.79,
        hf_id="meta-llama/Llama-3.1-405B-Instruct",
        paper_name="Llama-3.1-405B-Instruct",
    ),
    "llama-3.1-70b": ModelSpec(
        "llama-3.1-70b",
        "vllm/meta-llama/Llama-3.1-70B-Instruct",
        0.35,
        0.40,
        hf_id="meta-llama/Llama-3.1-70B-Instruct",
        paper_name="Llama-3.1-70B-Instruct",
    ),
    "llama-3.1-8b": ModelSpec(
        "llama-3.1-8b",
        "vllm/meta-llama/Llama-3.1-8B-Instruct",
        0.055,
        0.055,
        hf_id="meta-llama/Llama-3.1-8B-Instruct",
        paper_name="Llama-3.1-8B-Instruct",
    ),
    # Students / references of the paper protocol (weights on the hub; served by vllm on GPU).
    "llama-3.1-8b-base": ModelSpec(
        "llama-3.1-8b-base", "vllm/meta-llama/Llama-3.1-8B", hf_id="meta-llama/Llama-3.1-8B"
    ),
    # Offline local model, served in-process by our provider. Free to run: price 0.
    SMOLLM2: ModelSpec(SMOLLM2, f"{LOCAL_API}/{SMOLLM2}", 0.0, 0.0),
    # Not a language model: a rule that checks smoke-world answers, served like any judge. Free.
    SMOKE_JUDGE: ModelSpec(SMOKE_JUDGE, f"{SCRIPT_API}/pytest_agorabench.evaluation.smoke_judge:judge", 0.0, 0.0),
}


class UnknownModelError(AgoraBenchError, ValueError):
    pass


def resolve_model(name: str) -> ModelSpec:
    """Alias or inspect model string -> ModelSpec. Unknown bare names raise with the valid choices."""
    name = name.strip()
    if not name:
        raise UnknownModelError("empty model name")
    if name in ALIASES:
        return ALIASES[name]
    if "/" in name:
        api = name.split("/", 1)[0]
        if not api:
            raise UnknownModelError(f"model {name!r} has no provider before '/'")
        # A full inspect string that matches an alias target inherits its prices.
        for spec in ALIASES.values():
            if spec.inspect_model == name:
                return ModelSpec(name, name, spec.usd_per_1m_input, spec.usd_per_1m_output, spec.hf_id, spec.paper_name)
        return ModelSpec(name, name)
    hint = difflib.get_close_matches(name, list(ALIASES), n=1)
    did_you_mean = f" Did you mean {hint[0]!r}?" if hint else ""
    raise UnknownModelError(
        f"unknown model alias {name!r}.{did_you_mean} Use one of: {', '.join(ALIASES)}, "
        "or any inspect model string such as 'openai/gpt-4o' or 'vllm/org/model'."
    )


LOCAL_WEIGHTS = (SMOLLM2, TINY_STUDENT)


def resolve_weights(name: str) -> str:
    """A student or reference: weights we train or serve ourselves (not an API model).

    Returns a local alias (``tiny``, ``smollm2-135m``), a hub id (``org/name``) or a local path.
    Aliases with known weights map to them (``llama-3.1-8b`` -> ``meta-llama/Llama-3.1-8B-Instruct``).
    """
    name = name.strip()
    if name in LOCAL_WEIGHTS:
        return name
    spec = ALIASES.get(name)
    if spec is not None and spec.hf_id:
        return spec.hf_id
    if "/" in name or name.startswith("."):
        return name
    choices = list(LOCAL_WEIGHTS) + [a for a, s in ALIASES.items() if s.hf_id]
    hint = difflib.get_close_matches(name, choices, n=1)
    did_you_mean = f" Did you mean {hint[0]!r}?" if hint else ""
    raise UnknownModelError(
        f"unknown student/reference model {name!r}.{did_you_mean} Use one of: {', '.join(choices)}, "
        "a Hugging Face model id (org/name) or a local directory."
    )
