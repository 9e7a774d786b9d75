"""Blocked c-dist vs a plain all-pairs computation: time and peak memory.

Baseline: plain numpy all-pairs (normalise in float64, build the n x n similarity matrix, mean of its strict
upper triangle), the obvious implementation. Measured: pytest_agorabench.intrinsic.diversity.
mean_cosine_distance (float32 tiles, float64 sums). Both run on the same random 384-dim embeddings (the
size of all-MiniLM-L6-v2's); peak memory is the tracemalloc peak of the call (numpy reports its buffers).

    python bench/cdist_memory.py                 # 10,000 texts (about half a minute on 2 cores)
    python bench/cdist_memory.py --sizes 2000 5000 10000 --dim 384
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

import numpy as np

from pytest_agorabench.intrinsic.diversity import mean_cosine_distance


def plain_all_pairs(embeddings: np.ndarray) -> float:
    unit = embeddings / np.linalg.norm(embeddings, axis=1, keepdims=True)
    similarity = unit @ unit.T
    n = len(unit)
    upper = similarity[np.triu_indices(n, k=1)]
    return float(1.0 - upper.mean())


def measure(fn, *args) -> tuple[float, float, float]:
    """(result, seconds, peak MiB)."""
    tracemalloc.start()
    start = time.perf_counter()
    result = fn(*args)
    seconds = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return result, seconds, peak / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000])
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    print(f"{'n':>7} {'method':<8} {'c-dist':>10} {'seconds':>8} {'peak MiB':>9}")
    for n in args.sizes:
        # A shared direction plus noise: cosines spread around 0.5 like real sentence embeddings.
        embeddings = (rng.normal(size=(n, args.dim)) + 1.0).astype(np.float64)
        base_value, base_s, base_mib = measure(plain_all_pairs, embeddings)
        blocked, blocked_s, blocked_mib = measure(lambda e: mean_cosine_distance(e).value, embeddings)
        print(f"{n:>7} {'plain':<8} {base_value:>10.6f} {base_s:>8.2f} {base_mib:>9.1f}")
        print(f"{n:>7} {'blocked':<8} {blocked:>10.6f} {blocked_s:>8.2f} {blocked_mib:>9.1f}")
        print(
            f"{n:>7} ratio blocked/plain: time {blocked_s / base_s:.3f}, peak memory {blocked_mib / base_mib:.4f}, "
            f"|difference| {abs(blocked - base_value):.2e}"
        )


if __name__ == "__main__":
    main()
