"""What checkpointing costs: SFT of the tiny student with the smoke recipe's checkpoints on, against the same
training with them off, in this process.

Baseline: save_steps=0 (no checkpoints). Measured: save_steps as given (default: the smoke recipe's), into a
fresh checkpoint folder each run. The runs alternate (off, on, off, on, ...) so that load on this shared
machine falls on both; the ratio is of the medians of whole train() calls (loading, training, saving).

    python bench/training_checkpoints.py                       # 8 epochs of 100 rows: 200 steps, 2 saves
    python bench/training_checkpoints.py --epochs 24 --repeats 3
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from pathlib import Path

from pytest_agorabench.training.recipes import get_recipe
from pytest_agorabench.training.sft import train
from pytest_agorabench.training.tiny_student import build_tiny_student


def sum_rows(n: int, seed: int = 1) -> list[dict]:
    pairs = [(a, b) for a in range(10) for b in range(10)]
    random.Random(seed).shuffle(pairs)
    return [
        {"id": f"sum-{i}", "instruction": f"What is {a} + {b}?", "response": f"{a} + {b} = {a + b}. [RESULT] {a + b} [/RESULT]"}
        for i, (a, b) in enumerate(pairs[:n])
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--rows", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=2, help="runs of each kind")
    parser.add_argument("--save-steps", type=int, default=get_recipe("smoke").save_steps)
    args = parser.parse_args()
    rows = sum_rows(args.rows)
    recipe = get_recipe("smoke").with_overrides(epochs=args.epochs)
    with tempfile.TemporaryDirectory(prefix="agora-bench-ckpt-") as tmp:
        root = Path(tmp)
        build_tiny_student(root / "student", [r["instruction"] + "\n" + r["response"] for r in rows], seed=42)
        seconds: dict[str, list[float]] = {"off": [], "on": []}
        steps = saves = 0
        for i in range(args.repeats):
            for kind, save_steps in (("off", 0), ("on", args.save_steps)):
                run = root / f"{kind}-{i}"
                start = time.perf_counter()
                stats = train(root / "student", rows, recipe.with_overrides(save_steps=save_steps), run / "model",
                              run / "checkpoints")
                seconds[kind].append(time.perf_counter() - start)
                steps = stats["steps"]
                saves = len(list((run / "checkpoints").glob("checkpoint-*")))  # what rotation kept, at most
        made = (steps - 1) // args.save_steps if args.save_steps else 0  # no save after the last step
    off, on = statistics.median(seconds["off"]), statistics.median(seconds["on"])
    print(f"{steps} steps, save_steps={args.save_steps}: {made} checkpoint(s) written ({saves} kept)")
    print(f"checkpoints off: {off:7.2f} s  (runs: {', '.join(f'{s:.2f}' for s in seconds['off'])})")
    print(f"checkpoints on:  {on:7.2f} s  (runs: {', '.join(f'{s:.2f}' for s in seconds['on'])})")
    print(f"ratio on/off: {on / off:.3f}" + (f"  ({(on - off) / made:.2f} s per checkpoint)" if made else ""))


if __name__ == "__main__":
    main()
