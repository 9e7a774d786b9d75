"""Response perplexity: exp(mean negative log-likelihood of the response tokens, given the chat-formatted
instruction) under a causal LM, per example; the dataset's figure is the mean over examples.

The prompt is the model's chat template applied to the system line + instruction with the assistant turn
opened (ours, training/chat.py, for a base model without a template, as training does); the response is
tokenized on its own and appended, so exactly its tokens are scored. Batches are left-padded so every
response ends at the last position, and the model returns logits for the response span only
(``logits_to_keep``): memory grows with the response length, not the prompt's.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from pytest_agorabench.training.chat import CHAT_TEMPLATE, SYSTEM_PROMPT, prompt_messages

EMPTY_RESPONSE = "empty_response"
TOO_LONG = "prompt_too_long"  # the prompt alone fills max_length: nothing of the response fits
TRUNCATED = "response_truncated"  # scored on the response tokens that fit (not a failure: counted)


@dataclass
class PerplexityResult:
    per_example: list[float | None]  # None: not scored (see failures)
    failures: dict[str, int] = field(default_factory=dict)
    truncated: int = 0

    @property
    def mean(self) -> float | None:
        scored = [p for p in self.per_example if p is not None]
        return sum(scored) / len(scored) if scored else None


def encode_example(tokenizer, instruction: str, response: str, system: str = SYSTEM_PROMPT) -> tuple[list[int], list[int]]:
    """(prompt token ids, response token ids) as the scorer sees them."""
    template = None if tokenizer.chat_template else CHAT_TEMPLATE
    prompt = tokenizer.apply_chat_template(
        prompt_messages(instruction, system), tokenize=False, add_generation_prompt=True, chat_template=template
    )
    prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    response_ids = tokenizer(response, add_special_tokens=False)["input_ids"]
    return list(prompt_ids), list(response_ids)


def _batch_nll(model, batch: list[tuple[list[int], list[int]]], pad_id: int) -> list[float]:
    """Mean NLL of each example's response tokens, one forward pass for the batch."""
    import torch
    import torch.nn.functional as F

    width = max(len(p) + len(r) for p, r in batch)
    span = max(len(r) for _, r in batch)
    ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    for row, (prompt, response) in enumerate(batch):
        sequence = prompt + response
        ids[row, width - len(sequence) :] = torch.tensor(sequence)
        mask[row, width - len(sequence) :] = 1
    # Left padding would shift positions; give each real token its position from the start of its own text.
    positions = (mask.cumsum(dim=1) - 1).clamp(min=0)
    device = next(model.parameters()).device
    inputs = {"input_ids": ids.to(device), "attention_mask": mask.to(device), "position_ids": positions.to(device)}
    with torch.inference_mode():
        try:
            logits = model(**inputs, logits_to_keep=span + 1).logits
        except TypeError:  # a model class without logits_to_keep: keep the tail ourselves
            logits = model(**inputs).logits[:, -(span + 1) :]
    out = []
    for row, (_, response) in enumerate(batch):
        n = len(response)
        # logits at position t predict token t + 1: the response's n tokens come from the n positions before it.
        predicted = logits[row, span - n : span].float()
        target = torch.tensor(response, device=predicted.device)
        out.append(float(F.cross_entropy(predicted, target, reduction="mean")))
    return out


def response_perplexities(
    rows: Sequence[Mapping[str, object]],
    model,
    tokenizer,
    *,
    batch_size: int = 8,
    max_length: int = 4096,
    system: str = SYSTEM_PROMPT,
) -> PerplexityResult:
    """Per-example perplexity of ``rows`` (instruction, response) under a loaded causal LM."""
    if batch_size < 1 or max_length < 2:
        raise ValueError("batch_size must be >= 1 and max_length >= 2")
    result = PerplexityResult(per_example=[None] * len(rows))
    failures: Counter[str] = Counter()
    todo: list[tuple[int, list[int], list[int]]] = []
    for index, row in enumerate(rows):
        response = str(row.get("response") or "")
        if not response.strip():
            failures[EMPTY_RESPONSE] += 1
            continue
        prompt_ids, response_ids = encode_example(tokenizer, str(row.get("instruction") or ""), response, system)
        room = max_length - len(prompt_ids)
        if room < 1 or not response_ids:
            failures[TOO_LONG if room < 1 else EMPTY_RESPONSE] += 1
            continue
        if len(response_ids) > room:
            response_ids = response_ids[:room]
            result.truncated += 1
        todo.append((index, prompt_ids, response_ids))
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    todo.sort(key=lambda item: len(item[1]) + len(item[2]))  # similar lengths together: little padding
    for start in range(0, len(todo), batch_size):
        chunk = todo[start : start + batch_size]
        for (index, _, _), nll in zip(chunk, _batch_nll(model, [(p, r) for _, p, r in chunk], pad_id)):
            result.per_example[index] = math.exp(nll)
    result.failures = dict(failures)
    return result
