"""The intrinsic-metrics stage: run the enabled scorers on a generated data set and return one dict.

Metric names follow the paper's Table 8 (fixtures/paper/table8_intrinsic.csv), with the judge and reward
model labels given in the config, so our reports and the paper's tables feed the same analysis:
``instruction_difficulty_<label>_judge``, ``response_quality_<label>_judge``, ``response_quality_<label>_rm``
(``response_quality_rm`` without a label), ``response_perplexity``, ``instruction_diversity_cdist``,
``response_diversity_cdist``.

A scorer whose model is not configured is skipped and says so. A model that cannot be loaded is a
configuration error (IntrinsicError, with the reason). Judge failures never raise: they are counted.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from pytest_agorabench.errors import AgoraBenchError
from pytest_agorabench.intrinsic.rubrics import DIFFICULTY, QUALITY, prompt_version

DEFAULT_EMBEDDER = "all-minilm-l6-v2"
# The paper's scorers, for the `paper` profile (AGORABENCH.md section 5).
PAPER_REWARD_MODEL = "Skywork/Skywork-Reward-Llama-3.1-8B"
PAPER_JUDGES = {"gpt4o": "openai/gpt-4o-2024-08-06", "prometheus": "vllm/prometheus-eval/prometheus-8x7b-v2.0"}


class IntrinsicError(AgoraBenchError, RuntimeError):
    """An intrinsic scorer is misconfigured (its model cannot be loaded); the message says which and why."""


@dataclass(frozen=True)
class IntrinsicConfig:
    diversity: bool = True
    embedder: str = DEFAULT_EMBEDDER  # all-minilm-l6-v2 (offline from PyPI), "hashed", or an encoder directory
    perplexity_model: str | None = None  # causal LM; the pipeline passes the student base
    reward_model: str | None = None  # sequence-classification reward model (paper: PAPER_REWARD_MODEL)
    reward_label: str = ""  # "skywork" gives response_quality_skywork_rm
    judges: Mapping[str, str] = field(default_factory=dict)  # label -> inspect model string
    judge_model_args: Mapping[str, Any] = field(default_factory=dict)
    judge_max_tokens: int = 512
    judge_concurrency: int = 16
    # Hold each judge reply to the grade line (rubrics.SCORE_REGEX); only for backends that take a grammar.
    judge_structured: bool = False
    sample_size: int | None = None  # rows given to the model-based scorers (all when None); diversity uses all
    seed: int = 0  # which rows the sample takes
    device: str = "cpu"
    dtype: str = "float32"
    batch_size: int = 8
    max_length: int = 4096  # the student's sequence length (AGORABENCH.md section 3)
    log_dir: str | None = None  # inspect logs of the judges

    def __post_init__(self) -> None:
        if self.sample_size is not None and self.sample_size < 1:
            raise ValueError("sample_size must be a positive number of rows or None (all rows)")
        for label in self.judges:
            if not label or not label.replace("-", "_").isidentifier():
                raise ValueError(f"judge label {label!r} must be a short name such as 'gpt4o' (used in metric names)")


def sample_rows(rows: Sequence[Mapping[str, Any]], size: int | None, seed: int) -> list[Mapping[str, Any]]:
    """All rows, or ``size`` of them chosen by ``seed``, in their original order."""
    if size is None or size >= len(rows):
        return list(rows)
    picked = sorted(random.Random(seed).sample(range(len(rows)), size))
    return [rows[i] for i in picked]


def _diversity(rows, config: IntrinsicConfig, embedder, out: dict[str, Any]) -> None:
    from pytest_agorabench.intrinsic.diversity import text_diversity
    from pytest_agorabench.intrinsic.embeddings import EmbeddingError, get_embedder

    try:
        embed = embedder if embedder is not None else get_embedder(config.embedder)
    except EmbeddingError as exc:
        raise IntrinsicError(f"diversity: {exc}") from exc
    out["models"]["diversity"] = getattr(embed, "name", type(embed).__name__)
    for field_name in ("instruction", "response"):
        texts = [str(r.get(field_name) or "") for r in rows]
        kept = [t for t in texts if t.strip()]
        name = f"{field_name}_diversity_cdist"
        try:
            result = text_diversity(kept, embed)
        except EmbeddingError as exc:
            raise IntrinsicError(f"diversity: {exc}") from exc
        out["metrics"][name] = result.value
        out["scored"][name] = result.texts - result.zero_vectors
        failures = {"empty_text": len(texts) - len(kept), "zero_vector": result.zero_vectors}
        out["failures"][name] = {k: v for k, v in failures.items() if v}


def _perplexity(rows, config: IntrinsicConfig, out: dict[str, Any]) -> None:
    from pytest_agorabench.intrinsic.lm_loading import ScorerModelError, load_pretrained
    from pytest_agorabench.intrinsic.perplexity import response_perplexities

    try:
        model, tokenizer = load_pretrained("AutoModelForCausalLM", config.perplexity_model, config.device, config.dtype)
    except ScorerModelError as exc:
        raise IntrinsicError(f"response perplexity: {exc}") from exc
    result = response_perplexities(rows, model, tokenizer, batch_size=config.batch_size, max_length=config.max_length)
    out["metrics"]["response_perplexity"] = result.mean
    out["scored"]["response_perplexity"] = sum(p is not None for p in result.per_example)
    out["failures"]["response_perplexity"] = result.failures
    out["truncated"]["response_perplexity"] = result.truncated
    out["models"]["response_perplexity"] = str(config.perplexity_model)


def _reward(rows, config: IntrinsicConfig, out: dict[str, Any]) -> None:
    from pytest_agorabench.intrinsic.lm_loading import ScorerModelError, load_pretrained
    from pytest_agorabench.intrinsic.reward import reward_scores

    name = f"response_quality_{config.reward_label}_rm" if config.reward_label else "response_quality_rm"
    try:
        model, tokenizer = load_pretrained(
            "AutoModelForSequenceClassification", config.reward_model, config.device, config.dtype
        )
        result = reward_scores(rows, model, tokenizer, batch_size=config.batch_size, max_length=config.max_length)
    except (ScorerModelError, ValueError) as exc:
        raise IntrinsicError(f"reward model: {exc}") from exc
    out["metrics"][name] = result.mean
    out["scored"][name] = sum(r is not None for r in result.per_example)
    out["failures"][name] = result.failures
    out["truncated"][name] = result.truncated
    out["models"][name] = str(config.reward_model)


def _judges(rows, domain: str, config: IntrinsicConfig, out: dict[str, Any]) -> None:
    from pytest_agorabench.intrinsic.judge_scores import judge_scores

    for label, model in config.judges.items():
        for kind, stem in ((DIFFICULTY, "instruction_difficulty"), (QUALITY, "response_quality")):
            name = f"{stem}_{label}_judge"
            result = judge_scores(
                rows,
                domain,
                kind,
                model,
                model_args=config.judge_model_args,
                max_tokens=config.judge_max_tokens,
                concurrency=config.judge_concurrency,
                log_dir=config.log_dir,
                structured=config.judge_structured,
            )
            out["metrics"][name] = result.mean
            out["scored"][name] = sum(s is not None for s in result.per_example)
            out["failures"][name] = result.failures
            out["models"][name] = model
            out["judge_tokens"][name] = {"input": result.input_tokens, "output": result.output_tokens}
            if result.error:
                out["errors"][name] = result.error
            if result.log:
                out["logs"][name] = result.log


def measure(
    rows: Sequence[Mapping[str, Any]], domain: str, *, config: IntrinsicConfig = IntrinsicConfig(), embedder=None
) -> dict[str, Any]:
    """Intrinsic metrics of ``rows`` (dicts with instruction and response) of ``domain``.

    ``embedder`` overrides ``config.embedder`` with any callable texts -> array. Returns
    {"metrics": name -> value or None, "scored": name -> rows scored, "failures": name -> reason -> count,
    "skipped": scorer -> why, "models", "errors", "logs", "judge_tokens", "truncated", "rows", "sampled_rows",
    "config", "judge_prompt_version"}.
    """
    from pytest_agorabench.intrinsic.rubrics import DOMAINS

    if domain not in DOMAINS:
        raise IntrinsicError(f"unknown domain {domain!r}; choose from {', '.join(DOMAINS)}")
    sampled = sample_rows(rows, config.sample_size, config.seed)
    out: dict[str, Any] = {
        "metrics": {}, "scored": {}, "failures": {}, "skipped": {}, "models": {}, "errors": {}, "logs": {},
        "judge_tokens": {}, "truncated": {}, "rows": len(rows), "sampled_rows": len(sampled),
        "config": {k: v for k, v in asdict(config).items() if k != "judge_model_args"},
        "judge_prompt_version": prompt_version(),
    }
    if config.diversity:
        _diversity(rows, config, embedder, out)
    else:
        out["skipped"]["diversity"] = "disabled in the config"
    if config.perplexity_model:
        _perplexity(sampled, config, out)
    else:
        out["skipped"]["response_perplexity"] = "no perplexity model configured"
    if config.reward_model:
        _reward(sampled, config, out)
    else:
        out["skipped"]["reward_model"] = "no reward model configured"
    if config.judges:
        _judges(sampled, domain, config, out)
    else:
        out["skipped"]["judge"] = "no judge configured"
    return out
