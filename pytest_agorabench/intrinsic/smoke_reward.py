"""The smoke profile's reward model: a tiny Bradley-Terry model trained offline on our own fixtures.

The paper scores responses with Skywork-Reward-Llama-3.1-8B, which smoke cannot download. So that the
reward metric still runs end to end offline, smoke trains a small sequence-classification model (the
tiny student's tokenizer and shape, one output) on preference pairs built from seed rows (in the smoke
profile, the smoke world's): the seed's own response is preferred over a corrupted one, either the response of another instruction
(relevance), its first third (completeness) or its words shuffled (coherence). Its scores say how
relevant, complete and fluent a response looks to a model this small, nothing more; the figures are
not comparable to the paper's. Built once per store and cached like the tiny student.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pytest_agorabench.intrinsic.reward import encode_conversation

CORRUPTIONS = ("mismatched", "truncated", "shuffled")
MIN_WORDS = 6  # shorter responses have nothing to truncate or shuffle
DEFAULT_STEPS = 60
BATCH_PAIRS = 16
MAX_LENGTH = 256  # most fixture conversations fit; the start of a response decides relevance and fluency
LEARNING_RATE = 1e-3
HELDOUT_FRACTION = 0.1


def preference_pairs(rows: Sequence[Mapping[str, Any]], seed: int) -> list[tuple[str, str, str, str]]:
    """(instruction, chosen, rejected, corruption) for every usable row and corruption."""
    rng = random.Random(seed)
    usable = [r for r in rows if str(r.get("response") or "").strip() and str(r.get("instruction") or "").strip()]
    pairs = []
    for i, row in enumerate(usable):
        instruction, response = str(row["instruction"]), str(row["response"])
        words = response.split()
        others = [j for j in range(len(usable)) if usable[j]["response"] != response]
        if others:
            pairs.append((instruction, response, str(usable[rng.choice(others)]["response"]), "mismatched"))
        if len(words) >= MIN_WORDS:
            pairs.append((instruction, response, " ".join(words[: max(1, len(words) // 3)]), "truncated"))
            shuffled = words[:]
            while shuffled == words:
                rng.shuffle(shuffled)
            pairs.append((instruction, response, " ".join(shuffled), "shuffled"))
    return pairs


def _split(pairs: list, seed: int) -> tuple[list, list]:
    # Hold out whole instructions, so accuracy is measured on conversations the model never saw.
    instructions = sorted({p[0] for p in pairs})
    random.Random(seed).shuffle(instructions)
    held = set(instructions[: max(1, int(len(instructions) * HELDOUT_FRACTION))])
    return [p for p in pairs if p[0] not in held], [p for p in pairs if p[0] in held]


def _batch(tokenizer, texts: list[tuple[str, str]], pad: int):
    import torch

    encoded = [encode_conversation(tokenizer, inst, resp, MAX_LENGTH)[0] for inst, resp in texts]
    width = max(len(ids) for ids in encoded)
    ids = torch.full((len(encoded), width), pad, dtype=torch.long)
    mask = torch.zeros((len(encoded), width), dtype=torch.long)
    for row, sequence in enumerate(encoded):
        ids[row, : len(sequence)] = torch.tensor(sequence)
        mask[row, : len(sequence)] = 1
    return ids, mask


def _margins(model, tokenizer, pairs: list, pad: int):
    """r(chosen) - r(rejected) per pair, as a tensor."""
    texts = [(p[0], p[1]) for p in pairs] + [(p[0], p[2]) for p in pairs]
    ids, mask = _batch(tokenizer, texts, pad)
    rewards = model(input_ids=ids, attention_mask=mask).logits[:, 0]
    return rewards[: len(pairs)] - rewards[len(pairs) :]


def accuracy(model, tokenizer, pairs: list, pad: int) -> dict[str, float]:
    """Share of pairs where the chosen response scores higher, overall and per corruption."""
    import torch

    if not pairs:
        return {}
    with torch.inference_mode():
        margins = torch.cat([_margins(model, tokenizer, pairs[i : i + 32], pad) for i in range(0, len(pairs), 32)])
    wins = (margins > 0).tolist()
    out = {"all": sum(wins) / len(wins)}
    for kind in CORRUPTIONS:
        mine = [w for w, p in zip(wins, pairs) if p[3] == kind]
        if mine:
            out[kind] = sum(mine) / len(mine)
    return out


def build_smoke_reward_model(
    out_dir: Path, tokenizer_dir: str | Path, rows: Sequence[Mapping[str, Any]], *, seed: int = 42, steps: int = DEFAULT_STEPS
) -> dict[str, Any]:
    """Train and save the reward model (model + tokenizer) to ``out_dir``; returns held-out accuracies."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForSequenceClassification

    from pytest_agorabench.training.tiny_student import MAX_POSITIONS, SIZES

    pairs = preference_pairs(rows, seed)
    if len(pairs) < 2 * BATCH_PAIRS:
        raise ValueError(f"the smoke reward model needs at least {2 * BATCH_PAIRS} preference pairs, got {len(pairs)}")
    train_pairs, held_pairs = _split(pairs, seed)
    tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_dir))
    pad = tokenizer.pad_token_id
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        max_position_embeddings=MAX_POSITIONS,
        num_key_value_heads=SIZES["tiny"]["num_attention_heads"],
        num_labels=1,
        pad_token_id=pad,
        eos_token_id=tokenizer.eos_token_id,
        bos_token_id=None,
        **SIZES["tiny"],
    )
    started = time.perf_counter()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = LlamaForSequenceClassification(config)
        optimizer = torch.optim.AdamW(model.parameters(), lr=LEARNING_RATE, weight_decay=0.01)
        order = random.Random(seed)
        model.train()
        first_loss = last_loss = None
        for step in range(steps):
            batch = order.sample(train_pairs, min(BATCH_PAIRS, len(train_pairs)))
            loss = -torch.nn.functional.logsigmoid(_margins(model, tokenizer, batch, pad)).mean()
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            last_loss = loss.item()
            first_loss = last_loss if first_loss is None else first_loss
        model.eval()
        held = accuracy(model, tokenizer, held_pairs, pad)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    stats = {
        "train_pairs": len(train_pairs),
        "heldout_pairs": len(held_pairs),
        "heldout_accuracy": {k: round(v, 4) for k, v in held.items()},
        "steps": steps,
        "loss_first": round(first_loss, 4),
        "loss_last": round(last_loss, 4),
        "seconds": round(time.perf_counter() - started, 1),
        "seed": seed,
    }
    (out_dir / "smoke_reward.json").write_text(json.dumps(stats, indent=2) + "\n")
    return stats
