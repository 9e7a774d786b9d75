"""Sampling that gives every request its own random stream, so a request's output does not depend on which
other requests happened to share its batch.

transformers' sampler draws one ``torch.multinomial`` over the whole batch from the global generator: the
same seeded request gives another answer when the batch around it changes, and our batches form inside a
timing window. Here each row carries its own seed. At every step the row's logits are warped as by the
usual sampler (temperature, then top-k, then top-p), and Gumbel noise drawn from the row's own generator
is added; the argmax of ``logits + Gumbel`` is an exact sample from ``softmax(logits)``, so ``generate``
runs in greedy mode and the row's tokens depend only on its prompt, its parameters and its seed.
"""

from __future__ import annotations

from typing import Any

SEED_MODULUS = 2**31 - 1


def fresh_seed() -> int:
    """A seed for a request that brought none (nondeterministic, as an unseeded sampler is)."""
    import secrets

    return secrets.randbelow(SEED_MODULUS)


class RowSampler:
    """A transformers LogitsProcessor: per-row warping plus Gumbel noise from per-row generators."""

    def __init__(self, seeds: list[int], temperature: float, top_p: float | None, top_k: int | None, device: str):
        import torch

        self.temperature, self.top_p, self.top_k = temperature, top_p, top_k
        self.generators = []
        for seed in seeds:
            g = torch.Generator(device=device)
            g.manual_seed(int(seed))
            self.generators.append(g)

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        import torch

        scores = scores.float() / self.temperature
        if self.top_k:
            k = min(int(self.top_k), scores.shape[-1])
            kth = torch.topk(scores, k, dim=-1).values[..., -1:]
            scores = scores.masked_fill(scores < kth, float("-inf"))
        if self.top_p is not None and self.top_p < 1.0:
            sorted_scores, order = torch.sort(scores, descending=True, dim=-1)
            cumulative = sorted_scores.softmax(dim=-1).cumsum(dim=-1)
            # Drop a token once the tokens before it already cover top_p; the most likely token always stays.
            drop_sorted = (cumulative - sorted_scores.softmax(dim=-1)) >= self.top_p
            drop = drop_sorted.scatter(-1, order, drop_sorted)
            scores = scores.masked_fill(drop, float("-inf"))
        noise = torch.stack(
            [
                torch.rand(scores.shape[-1], generator=g, device=scores.device, dtype=torch.float64)
                for g in self.generators
            ]
        )
        gumbel = -torch.log(-torch.log(noise.clamp(min=1e-300)))
        return (scores.double() + gumbel).to(scores.dtype)

