"""Response quality by a reward model: the raw scalar reward of each (instruction, response) conversation
under any transformers sequence-classification model with one output (paper: Skywork-Reward-Llama-3.1-8B);
the dataset's figure is the mean.

The conversation is rendered with the reward model's own chat template (user turn = instruction, assistant
turn = response, no system line: reward models are trained on plain user/assistant pairs); a model without
a template gets the instruction and the response as a text pair. Sequences are right-padded: the
classification head reads the last non-pad token, which transformers finds from ``pad_token_id``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

EMPTY_RESPONSE = "empty_response"


@dataclass
class RewardResult:
    per_example: list[float | None]
    failures: dict[str, int] = field(default_factory=dict)
    truncated: int = 0  # conversations cut to max_length (scored on what fits)

    @property
    def mean(self) -> float | None:
        scored = [r for r in self.per_example if r is not None]
        return sum(scored) / len(scored) if scored else None


def check_reward_model(model) -> None:
    labels = getattr(model.config, "num_labels", None)
    if labels != 1:
        raise ValueError(
            f"a reward model must have a single output (num_labels=1); this one has {labels}. "
            "Pass a reward model such as Skywork/Skywork-Reward-Llama-3.1-8B."
        )


def encode_conversation(tokenizer, instruction: str, response: str, max_length: int) -> tuple[list[int], bool]:
    """(token ids, truncated?) of one conversation as the reward model reads it."""
    if tokenizer.chat_template:
        text = tokenizer.apply_chat_template(
            [{"role": "user", "content": instruction}, {"role": "assistant", "content": response}], tokenize=False
        )
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    else:
        ids = tokenizer(instruction, response)["input_ids"]
    ids = list(ids)
    return ids[:max_length], len(ids) > max_length


def _ensure_pad(model, tokenizer) -> int:
    """The head finds each sequence's last token through pad_token_id: it must be set and agree."""
    pad = tokenizer.pad_token_id
    if pad is None:
        pad = model.config.pad_token_id if model.config.pad_token_id is not None else tokenizer.eos_token_id
    if pad is None:
        pad = 0
    model.config.pad_token_id = pad
    return pad


def reward_scores(
    rows: Sequence[Mapping[str, object]], model, tokenizer, *, batch_size: int = 8, max_length: int = 4096
) -> RewardResult:
    """Raw reward per row under a loaded sequence-classification model with one output."""
    import torch

    check_reward_model(model)
    pad = _ensure_pad(model, tokenizer)
    result = RewardResult(per_example=[None] * len(rows))
    failures: Counter[str] = Counter()
    todo: list[tuple[int, list[int]]] = []
    for index, row in enumerate(rows):
        response = str(row.get("response") or "")
        if not response.strip():
            failures[EMPTY_RESPONSE] += 1
            continue
        ids, truncated = encode_conversation(tokenizer, str(row.get("instruction") or ""), response, max_length)
        result.truncated += truncated
        todo.append((index, ids))
    todo.sort(key=lambda item: len(item[1]))
    device = next(model.parameters()).device
    for start in range(0, len(todo), batch_size):
        chunk = todo[start : start + batch_size]
        width = max(len(ids) for _, ids in chunk)
        ids = torch.full((len(chunk), width), pad, dtype=torch.long)
        mask = torch.zeros((len(chunk), width), dtype=torch.long)
        for row, (_, sequence) in enumerate(chunk):
            ids[row, : len(sequence)] = torch.tensor(sequence)
            mask[row, : len(sequence)] = 1
        with torch.inference_mode():
            logits = model(input_ids=ids.to(device), attention_mask=mask.to(device)).logits
        for (index, _), value in zip(chunk, logits[:, 0].float().tolist()):
            result.per_example[index] = value
    result.failures = dict(failures)
    return result
