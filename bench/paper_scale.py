"""GPU-hours of the paper profile, on paper: per case, per run of nine cases, and a layout of N generators
on K 8-GPU nodes. The protocol's sizes (instances, seed sizes, epochs, sequence length, student, benchmark
sizes, token budgets) are read from our code; what the paper does not state (tokens per row, throughputs,
MFU) is an assumption printed beside the table, each a flag so you can put in your own measurements.

    python bench/paper_scale.py
    python bench/paper_scale.py --mfu 0.25 --generators 6 --nodes 1 2 4 8

No GPU was available where this was written: nothing here is measured, every hour is arithmetic.
"""

from __future__ import annotations

import argparse
import math
import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pytest_agorabench.evaluation import code_benchmarks, if_benchmarks  # noqa: E402, F401  (registers them)
from pytest_agorabench.evaluation.benchmarks import get_benchmark  # noqa: E402
from pytest_agorabench.profiles import PROFILES  # noqa: E402
from pytest_agorabench.settings import SETTINGS  # noqa: E402
from pytest_agorabench.training.recipes import get_recipe  # noqa: E402

# Parameters of the paper's student (Llama-3.1-8B, Meta's model card: 8.03B) and of a 70B generator.
STUDENT_PARAMS = 8.03e9
# NVIDIA H100 SXM datasheet: 989 TFLOPS dense bf16 (1,979 is the figure with sparsity).
H100_BF16_PEAK = 989e12
GPUS_PER_NODE = 8


@dataclass(frozen=True)
class Assumptions:
    row_tokens: float  # mean tokens of one training row (chat-formatted instruction + response)
    attempts_per_instance: float  # generation attempts per accepted instance (drops and retries)
    gen_tokens_per_s: float  # generator output tokens/s on one 8-GPU node
    eval_output_tokens: float  # mean new tokens per benchmark answer of the student
    student_tokens_per_s: float  # student output tokens/s on one GPU (vllm)
    mfu: float  # model FLOPs utilisation of SFT
    peak_flops: float = H100_BF16_PEAK


@dataclass(frozen=True)
class CaseHours:
    case: str
    generated_tokens: float
    trained_tokens: float  # per epoch
    generation: float
    training: float
    scoring: float  # intrinsic metrics: reward model and student perplexity over the rows
    evaluation: float  # S_G on the domain's two benchmarks

    @property
    def total(self) -> float:
        return self.generation + self.training + self.scoring + self.evaluation


def sft_gpu_hours(trained_tokens: float, epochs: int, a: Assumptions) -> float:
    """6 x params x tokens x epochs FLOPs at MFU of peak; recomputation under gradient checkpointing and
    attention FLOPs are left to the MFU figure, as MFU's own definition does."""
    return 6 * STUDENT_PARAMS * trained_tokens * epochs / (a.peak_flops * a.mfu) / 3600


def benchmark_items(setting, profile) -> int:
    names = [profile.math_benchmark if b == "math" else b for b in setting.benchmarks]
    return sum(get_benchmark(name).size for name in names)


def case_hours(setting, profile, recipe, a: Assumptions) -> CaseHours:
    instances = profile.instances
    generated_tokens = instances * a.attempts_per_instance * a.row_tokens
    rows = instances + (setting.paper_seed_size if setting.trains_on_seed else 0)
    trained = rows * a.row_tokens
    epochs = profile.epochs_for(setting.domain.value) or recipe.epochs
    generation = generated_tokens / a.gen_tokens_per_s / 3600 * GPUS_PER_NODE
    # Forward passes only (2 x params per token) of the 8B reward model and the 8B student, over the rows.
    scoring = 2 * (2 * STUDENT_PARAMS * instances * a.row_tokens) / (a.peak_flops * a.mfu) / 3600
    answer_tokens = min(a.eval_output_tokens, profile.eval_tokens_for(setting.domain.value))
    evaluation = benchmark_items(setting, profile) * answer_tokens / a.student_tokens_per_s / 3600
    return CaseHours(setting.id, generated_tokens, trained, generation, sft_gpu_hours(trained, epochs, a),
                     scoring, evaluation)


def baseline_hours(profile, a: Assumptions) -> float:
    """S_0 and S_ref on all six benchmarks: once per run, shared by every generator."""
    seen: dict[str, int] = {}
    for setting in SETTINGS:
        seen[setting.domain.value] = benchmark_items(setting, profile)
    answer = min(a.eval_output_tokens, profile.eval_max_tokens)
    return 2 * sum(seen.values()) * answer / a.student_tokens_per_s / 3600


def layout(cases: list[CaseHours], generators: int, nodes: int, train_gpus: int) -> dict[str, float]:
    """Generator servers get whole nodes (tensor parallel over 8 GPUs), cases train in groups of train_gpus
    on the other nodes; nodes are split in proportion to the two kinds of work. Wall-clock is the slower side
    plus one case's generation (training waits for the first case's data); it assumes work packs perfectly,
    so it is a lower bound."""
    gen = generators * sum(c.generation for c in cases)
    rest = generators * sum(c.training + c.scoring + c.evaluation for c in cases)
    if nodes == 1:  # one node: generation and training take turns on all 8 GPUs
        return {"gen_nodes": "shared", "train_nodes": "shared", "wall_h": (gen + rest) / GPUS_PER_NODE}
    gen_nodes = min(nodes - 1, max(1, round(nodes * gen / (gen + rest))))
    train_nodes = nodes - gen_nodes
    wall = max(gen / (gen_nodes * GPUS_PER_NODE), rest / (train_nodes * GPUS_PER_NODE))
    first_case = max(c.generation for c in cases) / GPUS_PER_NODE
    return {"gen_nodes": gen_nodes, "train_nodes": train_nodes, "wall_h": wall + first_case,
            "train_groups": train_nodes * (GPUS_PER_NODE // train_gpus)}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--profile", default="paper", choices=sorted(PROFILES))
    p.add_argument("--row-tokens", type=float, default=600.0,
                   help="mean tokens per training row (instruction + response); our assumption, the paper gives "
                        "none: measure yours from a quick run's generated data")
    p.add_argument("--attempts", type=float, default=1.2,
                   help="generation attempts per accepted instance (assumption; the report's drops give yours)")
    p.add_argument("--gen-tokens-per-s", type=float, default=2500.0,
                   help="output tokens/s of a 70B generator served by vllm on one 8xH100 node (assumption, not "
                        "a published figure: measure with `vllm bench serve` at your prompt lengths)")
    p.add_argument("--eval-output-tokens", type=float, default=400.0,
                   help="mean new tokens per benchmark answer (assumption; capped by the profile's budget)")
    p.add_argument("--student-tokens-per-s", type=float, default=3000.0,
                   help="output tokens/s of the 8B student served by vllm on one GPU (assumption)")
    p.add_argument("--mfu", type=float, default=0.35,
                   help="SFT model FLOPs utilisation (assumption: 8B full-parameter FSDP; our one measurement, "
                        "18%% on a 1B shape on one H100 in bench/gpu_sft.py, is a different shape)")
    p.add_argument("--peak-tflops", type=float, default=H100_BF16_PEAK / 1e12,
                   help="peak dense bf16 TFLOPS per GPU (default: H100 SXM datasheet, 989)")
    p.add_argument("--generators", type=int, nargs="+", default=[1, 6])
    p.add_argument("--nodes", type=int, nargs="+", default=[1, 2, 4, 8])
    args = p.parse_args(argv)
    for name in ("row_tokens", "attempts", "gen_tokens_per_s", "eval_output_tokens", "student_tokens_per_s",
                 "peak_tflops"):
        if getattr(args, name) <= 0:
            p.error(f"--{name.replace('_', '-')} must be > 0")
    if not 0 < args.mfu <= 1:
        p.error("--mfu must be in (0, 1]")
    if any(n < 1 for n in args.generators + args.nodes):
        p.error("--generators and --nodes must be >= 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    profile = PROFILES[args.profile]
    recipe = get_recipe(profile.recipe)
    a = Assumptions(args.row_tokens, args.attempts, args.gen_tokens_per_s, args.eval_output_tokens,
                    args.student_tokens_per_s, args.mfu, args.peak_tflops * 1e12)
    cases = [case_hours(s, profile, recipe, a) for s in SETTINGS]
    print(f"profile {profile.name}: {profile.instances:,} instances per case, student {profile.student}, "
          f"recipe {recipe.name} ({recipe.epochs} epochs, {recipe.max_length:,}-token packed sequences, "
          f"{recipe.num_gpus} GPUs per case)")
    print(f"assumptions: {a.row_tokens:g} tokens/row, {a.attempts_per_instance:g} attempts/instance, generator "
          f"{a.gen_tokens_per_s:g} tok/s per 8-GPU node, student {a.student_tokens_per_s:g} tok/s per GPU, "
          f"{a.eval_output_tokens:g} tokens/answer, MFU {a.mfu:g} of {a.peak_flops / 1e12:g} TFLOPS")
    print()
    head = f"{'case':42} {'gen Mtok':>9} {'Mtok/epoch':>10} {'gen':>7} {'SFT':>7} {'score':>6} {'eval':>6} {'total':>7}"
    print(head + "   (GPU-hours)")
    for c in cases:
        print(f"{c.case:42} {c.generated_tokens / 1e6:9.1f} {c.trained_tokens / 1e6:10.1f} {c.generation:7.1f} "
              f"{c.training:7.1f} {c.scoring:6.2f} {c.evaluation:6.2f} {c.total:7.1f}")
    total = CaseHours("run (9 cases)", *(sum(getattr(c, f) for c in cases) for f in
                                         ("generated_tokens", "trained_tokens", "generation", "training",
                                          "scoring", "evaluation")))
    print(f"{total.case:42} {total.generated_tokens / 1e6:9.1f} {total.trained_tokens / 1e6:10.1f} "
          f"{total.generation:7.1f} {total.training:7.1f} {total.scoring:6.2f} {total.evaluation:6.2f} "
          f"{total.total:7.1f}")
    base = baseline_hours(profile, a)
    print(f"S_0 and S_ref on the six benchmarks, once per run: {base:.2f} GPU-hours")
    print()
    print(f"{'generators':>10} {'nodes':>5} {'gen nodes':>9} {'train nodes':>11} {'GPU-hours':>9} {'wall-clock h':>12}")
    for n in args.generators:
        for k in args.nodes:
            lay = layout(cases, n, k, recipe.num_gpus)
            gpu_hours = n * total.total + base
            print(f"{n:10} {k:5} {lay['gen_nodes']:>9} {lay['train_nodes']:>11} {gpu_hours:9.0f} "
                  f"{math.ceil(lay['wall_h'] * 10) / 10:12.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
