"""SFT throughput on a GPU: our training path (trl SFTTrainer via training.sft.train) vs a plain PyTorch loop.

Baseline: a plain loop in the same process (torch AdamW, fp32 master weights, bf16 autocast, grad clipping 1.0)
over the very same packed sequences (trl's BFD packing of the same rows), one epoch each, so both train on the
same tokens. Measured: `pytest_agorabench.training.sft.train` with a paper-shaped recipe (BFD packing,
response-only loss, one epoch), as-is ("ours"), and "ours_fixed": one packed sequence per micro-batch and fp32
master weights, forced from the bench. Both changes have since landed in training/sft.py (micro_batching,
master_dtype), so on the current package "ours" runs that way by itself and the two variants should agree.
Note "w changed" for "ours" is read after the save, which casts to bf16 and so hides updates smaller than
bf16's resolution (norm weights near 1.0 in a short run).
"plain_b1" is the plain loop at ours_fixed's micro-batch shape; it is the 1B model's baseline, since the plain
loop at batch 4 runs out of memory there (the model's own loss materialises the 128k-vocab logits).

Models are random-init Llama configs built on the fly (no hub access): SmolLM2-135M's shape and a Llama-3.2-1B
shape; the tokenizer is our offline one (training/tiny_student.build_tokenizer) trained on fixtures/seeds, so token
ids use only the first ~1.5k rows of the embedding, which does not change the compute.

Tokens/s counts the non-padding input tokens of the timed micro-steps (the first optimizer step is warm-up and
not timed). MFU = 6 * n_params * tokens/s / peak (attention FLOPs left out, as usual for the 6N estimate).

    python bench/gpu_sft.py --tiny                                  # CPU smoke test, under a minute
    python bench/gpu_sft.py --out gpu_sft.json                     # CUDA, both models (H100: ~5 min)
    python bench/gpu_sft.py --models llama-1b --variants ours,ours_fixed,plain_b1
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import random
import shutil
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pytest_agorabench.training import sft  # noqa: E402
from pytest_agorabench.training.chat import to_messages  # noqa: E402
from pytest_agorabench.training.recipes import Recipe  # noqa: E402

H100_SXM_BF16_DENSE = 989e12

# Llama shapes; vocab is the real model's so the LM head costs what it costs there.
MODELS: dict[str, dict] = {
    "tiny": dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                 num_key_value_heads=2, vocab_size=2048, tie_word_embeddings=True),
    "smollm2-135m": dict(hidden_size=576, intermediate_size=1536, num_hidden_layers=30, num_attention_heads=9,
                         num_key_value_heads=3, vocab_size=49152, tie_word_embeddings=True, rope_theta=100000.0),
    "llama-1b": dict(hidden_size=2048, intermediate_size=8192, num_hidden_layers=16, num_attention_heads=32,
                     num_key_value_heads=8, vocab_size=128256, tie_word_embeddings=True, rope_theta=500000.0),
}
# Non-padding tokens per variant (one epoch), sized so that all variants of both models fit in ~4 minutes.
DEFAULT_TOKENS = {"tiny": 6_000, "smollm2-135m": 2_000_000, "llama-1b": 600_000}


def paper_shaped_recipe(max_length: int, batch: int, accum: int, lr: float) -> Recipe:
    # Section 3's shape (BFD packing, response-only loss, AdamW, bf16, per-epoch decay) at one epoch on one GPU.
    return Recipe(name="gpu-bench", epochs=1, learning_rate=lr, per_device_batch=batch, grad_accum=accum,
                  max_length=max_length, packing=True, packing_strategy="bfd", lr_decay_per_epoch=0.85,
                  weight_decay=0.01, bf16=True, gradient_checkpointing=False, assistant_only_loss=True,
                  logging_steps=1)


# ---------------------------------------------------------------------------------------------- data and models


def load_seeds() -> list[dict]:
    seeds = []
    for path in sorted((REPO / "fixtures" / "seeds").rglob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                if row.get("instruction") and row.get("response"):
                    seeds.append({"instruction": row["instruction"], "response": row["response"]})
    if not seeds:
        sys.exit(f"no seed rows under {REPO / 'fixtures' / 'seeds'}")
    return seeds


def make_rows(seeds: list[dict], tokenizer, target_tokens: int, max_length: int, seed: int = 0) -> list[dict]:
    """Rows of several seeds joined, so lengths spread like generated data (a few hundred to ~1.5k tokens)."""
    rng = random.Random(seed)
    rows, total = [], 0
    while total < target_tokens:
        picks = rng.sample(seeds, k=rng.randint(3, 16))
        row = {"instruction": "\n\n".join(p["instruction"] for p in picks),
               "response": "\n\n".join(p["response"] for p in picks)}
        n = len(tokenizer(row["instruction"] + row["response"])["input_ids"]) + 24  # + chat scaffolding
        if n >= max_length:
            continue
        rows.append(row)
        total += n
    return rows


def build_model_dir(name: str, tokenizer, out_dir: Path, device: str) -> int:
    """Random-init model saved next to our tokenizer; returns the parameter count (tied weights once)."""
    import torch
    from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM

    shape = dict(MODELS[name])
    shape["vocab_size"] = max(shape["vocab_size"], len(tokenizer))
    config = LlamaConfig(max_position_embeddings=8192, rms_norm_eps=1e-5, pad_token_id=tokenizer.pad_token_id,
                         eos_token_id=tokenizer.eos_token_id, bos_token_id=None, **shape)
    torch.manual_seed(0)
    with torch.device(device):  # init on the GPU: seconds instead of a minute for the 1B model on CPU
        model = LlamaForCausalLM(config)
    model.generation_config = GenerationConfig(eos_token_id=tokenizer.eos_token_id,
                                               pad_token_id=tokenizer.pad_token_id, bos_token_id=None)
    n_params = sum(p.numel() for p in model.parameters())
    # bf16 on disk: both runs then start from identical values whatever dtype they load in.
    model.to(torch.bfloat16).save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    del model
    return n_params


# ------------------------------------------------------------------------------------------------- measurement


class Probe:
    """Times micro-steps after a warm-up, counts tokens, checks precision and whether the weights moved."""

    def __init__(self, device: str, warmup_micro: int):
        self.device, self.warmup_micro = device, warmup_micro
        self.micro, self.tokens, self.loss_tokens, self.t0, self.t1 = 0, 0, 0, None, None
        self.first_batch_shape = None
        self.stopped_early = False
        self.precision: dict = {}
        self._hook = None
        self._before: dict = {}

    def _sync(self) -> None:
        if self.device == "cuda":
            import torch

            torch.cuda.synchronize()

    def attach(self, model) -> None:
        import torch

        core = model.get_base_model() if hasattr(model, "get_base_model") else model
        layers = core.model.layers
        watched = {"embed": core.model.embed_tokens.weight, "q_proj.0": layers[0].self_attn.q_proj.weight,
                   "down_proj.last": layers[-1].mlp.down_proj.weight, "norm.0": layers[0].input_layernorm.weight}
        self._before = {k: (p, p.detach().to("cpu", copy=True)) for k, p in watched.items()}

        def hook(module, args, output):
            if not self.precision:
                self.precision = {
                    "param_dtype": str(module.weight.dtype).removeprefix("torch."),
                    "matmul_out_dtype": str(output.dtype).removeprefix("torch."),
                    "autocast": bool(torch.is_autocast_enabled(self.device)) if self.device == "cuda" else False,
                    "attn_implementation": core.config._attn_implementation,
                }

        self._hook = layers[0].self_attn.q_proj.register_forward_hook(hook)

    def micro_step(self, input_ids, labels, n_tokens: int | None = None) -> None:
        self.micro += 1
        if self.first_batch_shape is None:
            self.first_batch_shape = list(input_ids.shape)
        if self.micro == self.warmup_micro + 1:
            self._sync()
            self.t0 = time.perf_counter()
        if self.micro > self.warmup_micro:
            self.tokens += int(n_tokens if n_tokens is not None else input_ids.numel())
            self.loss_tokens += int((labels != -100).sum())

    def elapsed(self) -> float:
        return time.perf_counter() - self.t0 if self.t0 is not None else 0.0

    def stop(self) -> None:
        if self.t1 is None:
            self._sync()
            self.t1 = time.perf_counter()

    def finish(self) -> dict:
        self.stop()
        if self._hook is not None:
            self._hook.remove()
        changed = {}
        for key, (param, before) in self._before.items():
            after = param.detach().to("cpu")
            changed[key] = float((after.to(before.dtype) != before).float().mean())
        self._before = {}
        seconds = (self.t1 - self.t0) if self.t0 is not None else float("nan")
        return {"timed_micro_steps": max(0, self.micro - self.warmup_micro), "timed_tokens": self.tokens,
                "timed_loss_tokens": self.loss_tokens, "timed_seconds": seconds,
                "tokens_per_s": self.tokens / seconds if seconds and seconds > 0 else float("nan"),
                "first_batch_shape": self.first_batch_shape, "stopped_early_at_cap": self.stopped_early,
                "precision": self.precision,
                "fraction_of_weights_changed": changed}


def reset_memory(device: str) -> None:
    gc.collect()
    if device == "cuda":
        import torch

        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()


def peak_memory_gib(device: str) -> float | None:
    if device != "cuda":
        return None
    import torch

    return torch.cuda.max_memory_allocated() / 2**30


def run_ours(model_dir: Path, rows: list[dict], recipe: Recipe, device: str, work: Path, *, fp32_master: bool,
             cap_s: float) -> dict:
    """sft.train with the Trainer class wrapped for measurement (and, for the fixed variant, fp32 master weights)."""
    from transformers import TrainerCallback

    probe = Probe(device, warmup_micro=recipe.grad_accum)
    original = sft._trainer_class

    class StopAtCap(TrainerCallback):
        # A pathological variant must not eat the device time of the others; tokens/s stays valid.
        def on_step_end(self, args, state, control, **kwargs):
            if probe.elapsed() > cap_s:
                control.should_training_stop = True
                probe.stopped_early = True

    def instrumented():
        base = original()

        class Measured(base):
            def __init__(self, *args, **kwargs):
                if fp32_master:
                    # What loading in fp32 would give: the Trainer's bf16=True still autocasts the matmuls.
                    kwargs["model"] = kwargs["model"].float()
                super().__init__(*args, **kwargs)
                self.add_callback(StopAtCap())

            def train(self, *args, **kwargs):
                probe.attach(self.model)
                try:
                    return super().train(*args, **kwargs)
                finally:
                    probe.stop()  # before sft saves the model

            def training_step(self, model, inputs, *args, **kwargs):
                mask = inputs.get("attention_mask")
                probe.micro_step(inputs["input_ids"], inputs["labels"],
                                 int(mask.sum()) if mask is not None else None)
                return super().training_step(model, inputs, *args, **kwargs)

        return Measured

    out_dir = work / "ours_out"
    reset_memory(device)
    sft._trainer_class = instrumented
    try:
        stats = sft.train(model_dir, rows, recipe, out_dir)
    finally:
        sft._trainer_class = original
    measured = probe.finish()
    measured["peak_memory_gib"] = peak_memory_gib(device)
    saved = json.loads((out_dir / "config.json").read_text())
    shutil.rmtree(out_dir, ignore_errors=True)
    losses = [h["loss"] for h in stats["loss_history"]]
    return {**measured, "loss_first": losses[0] if losses else None, "loss_last": losses[-1] if losses else None,
            "optimizer_steps": stats["steps"], "whole_run_tokens": stats["train_tokens"],
            "whole_run_tokens_per_s": stats["tokens_per_second"], "trainer_seconds": stats["train_seconds"],
            "call_seconds": stats["seconds"], "bf16_flag": stats["bf16"], "grad_accum": stats["grad_accum"],
            "saved_dtype": saved.get("dtype") or saved.get("torch_dtype")}


def packed_sequences(rows: list[dict], tokenizer, max_length: int) -> list[dict]:
    """The same BFD packing the SFTTrainer applies, on the same chat-templated rows."""
    from datasets import Dataset
    from trl import pack_dataset

    ids, masks = [], []
    for row in rows:
        out = tokenizer.apply_chat_template(to_messages(row), tokenize=True, return_dict=True,
                                            return_assistant_tokens_mask=True)
        ids.append(list(out["input_ids"]))
        masks.append(list(out["assistant_masks"]))
    packed = pack_dataset(Dataset.from_dict({"input_ids": ids, "assistant_masks": masks}), max_length, "bfd")
    return packed.to_list()


def collate(batch: list[dict], pad_id: int):
    """Right-padded [B, L] rows; positions restart per document so the model masks across documents."""
    import torch

    width = max(len(s["input_ids"]) for s in batch)
    input_ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    labels = torch.full((len(batch), width), -100, dtype=torch.long)
    position_ids = torch.zeros((len(batch), width), dtype=torch.long)
    for i, seq in enumerate(batch):
        n = len(seq["input_ids"])
        ids = torch.tensor(seq["input_ids"])
        input_ids[i, :n] = ids
        labels[i, :n] = torch.where(torch.tensor(seq["assistant_masks"]) == 1, ids, -100)
        position_ids[i, :n] = torch.cat([torch.arange(length) for length in seq["seq_lengths"]])
    labels[position_ids == 0] = -100  # no document's first token is predicted from the previous one
    return input_ids, labels, position_ids, sum(len(s["input_ids"]) for s in batch)


def run_plain(model_dir: Path, packed: list[dict], recipe: Recipe, device: str, pad_id: int, cap_s: float) -> dict:
    """The baseline: a hand-written AMP loop over the same packed sequences, same batch shape and schedule."""
    import torch
    from transformers import AutoModelForCausalLM

    reset_memory(device)
    torch.manual_seed(recipe.seed)
    model = AutoModelForCausalLM.from_pretrained(str(model_dir), dtype=torch.float32).to(device)
    model.train()
    no_decay = [p for n, p in model.named_parameters() if "norm" in n or n.endswith(".bias")]
    decay = [p for n, p in model.named_parameters() if not ("norm" in n or n.endswith(".bias"))]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": recipe.weight_decay},
                                   {"params": no_decay, "weight_decay": 0.0}], lr=recipe.learning_rate)
    use_bf16 = device == "cuda" and recipe.bf16
    order = list(range(len(packed)))
    random.Random(recipe.seed).shuffle(order)
    batches = [[packed[i] for i in order[k:k + recipe.per_device_batch]]
               for k in range(0, len(order), recipe.per_device_batch)]
    probe = Probe(device, warmup_micro=recipe.grad_accum)
    probe.attach(model)
    losses, step_loss, in_step = [], 0.0, 0
    for index, batch in enumerate(batches):
        input_ids, labels, position_ids, n_tokens = collate(batch, pad_id)
        probe.micro_step(input_ids, labels, n_tokens)
        input_ids, labels, position_ids = (t.to(device, non_blocking=True) for t in (input_ids, labels, position_ids))
        with torch.autocast(device_type=device, dtype=torch.bfloat16, enabled=use_bf16):
            loss = model(input_ids=input_ids, position_ids=position_ids, labels=labels, use_cache=False).loss
        (loss / recipe.grad_accum).backward()
        step_loss, in_step = step_loss + loss.detach(), in_step + 1
        if (index + 1) % recipe.grad_accum == 0 or index + 1 == len(batches):
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            losses.append(float(step_loss) / in_step)  # one sync per optimizer step, as the Trainer's logging does
            step_loss, in_step = 0.0, 0
            if probe.elapsed() > cap_s:
                probe.stopped_early = True
                break
    measured = probe.finish()
    measured["peak_memory_gib"] = peak_memory_gib(device)
    del model, optimizer
    return {**measured, "loss_first": losses[0], "loss_last": losses[-1], "optimizer_steps": len(losses),
            "whole_run_tokens": sum(len(s["input_ids"]) for s in packed)}


# ------------------------------------------------------------------------------------------------------ driver


def environment(device: str) -> dict:
    import accelerate
    import datasets
    import torch
    import transformers
    import trl

    env = {"python": platform.python_version(), "torch": torch.__version__, "transformers": transformers.__version__,
           "trl": trl.__version__, "datasets": datasets.__version__, "accelerate": accelerate.__version__,
           "device": device}
    if device == "cuda":
        props = torch.cuda.get_device_properties(0)
        env.update(gpu=props.name, sms=props.multi_processor_count, gpu_memory_gib=round(props.total_memory / 2**30, 1),
                   bf16_supported=torch.cuda.is_bf16_supported(), cuda=torch.version.cuda)
    return env


def print_table(results: dict) -> None:
    cols = ("variant", "tok/s", "x plain", "MFU%", "peak GiB", "loss first", "loss last", "params", "autocast",
            "w changed", "batch shape")
    print("\n" + " | ".join(cols))
    for model_name, entry in results["models"].items():
        print(f"-- {model_name}: {entry['n_params'] / 1e6:.1f}M params, {entry['packed_sequences']} packed sequences "
              f"of <= {entry['max_length']} tokens")
        plain = entry["variants"].get("plain", {}).get("tokens_per_s")
        for name, v in entry["variants"].items():
            if "error" in v:
                print(f"{name} | FAILED: {v['error'][:200]}")
                continue
            ratio = f"{v['tokens_per_s'] / plain:.2f}" if plain else "-"
            mfu = f"{100 * v['mfu']:.1f}" if v.get("mfu") is not None else "-"
            mem = f"{v['peak_memory_gib']:.1f}" if v.get("peak_memory_gib") is not None else "-"
            prec = v.get("precision", {})
            moved = v.get("fraction_of_weights_changed", {})
            print(f"{name} | {v['tokens_per_s']:,.0f} | {ratio} | {mfu} | {mem} | {v['loss_first']:.3f} | "
                  f"{v['loss_last']:.3f} | {prec.get('param_dtype')} | {prec.get('autocast')} | "
                  f"q {moved.get('q_proj.0', float('nan')):.2f} norm {moved.get('norm.0', float('nan')):.2f} | "
                  f"{v['first_batch_shape']}")
    print(f"(MFU against {results['peak_flops']:.3g} FLOP/s; 'w changed' = fraction of elements of layer 0's q_proj "
          "and input norm that differ after training)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tiny", action="store_true", help="tiny model, few steps (CPU smoke test)")
    parser.add_argument("--device", choices=("cuda", "cpu"), help="default: cuda, or cpu with --tiny")
    parser.add_argument("--models", help="comma-separated, from: " + ", ".join(MODELS))
    parser.add_argument("--tokens", type=int, help="tokens per variant (one epoch); default per model")
    parser.add_argument("--max-length", type=int, help="packed sequence length (default 4096, 256 with --tiny)")
    parser.add_argument("--batch", type=int, default=4, help="per-device batch (paper: 4)")
    parser.add_argument("--accum", type=int, default=2, help="gradient accumulation")
    parser.add_argument("--lr", type=float, default=1e-5, help="learning rate (paper: 1e-5)")
    parser.add_argument("--variants", default="ours,ours_fixed,plain",
                        help="from: ours, ours_fixed, plain, plain_b1 (ratios are against plain)")
    parser.add_argument("--peak-flops", type=float, default=H100_SXM_BF16_DENSE,
                        help="dense bf16 peak for MFU (default: H100 SXM, 989e12)")
    parser.add_argument("--out", type=Path, help="write the figures here as JSON")
    parser.add_argument("--budget-s", type=float, default=330.0,
                        help="start no new variant after this many seconds (the figures so far are kept)")
    parser.add_argument("--cap-s", type=float, default=100.0,
                        help="stop a variant's training after this many timed seconds (tokens/s stays valid)")
    args = parser.parse_args()
    began = time.perf_counter()

    device = args.device or ("cpu" if args.tiny else "cuda")
    import torch

    if device == "cuda" and not torch.cuda.is_available():
        sys.exit("gpu_sft: CUDA was asked for but torch sees no GPU (torch "
                 f"{torch.__version__}); run with --tiny (or --device cpu) for the CPU smoke test")
    models = (args.models or ("tiny" if args.tiny else "smollm2-135m,llama-1b")).split(",")
    unknown = [m for m in models if m not in MODELS]
    if unknown:
        sys.exit(f"gpu_sft: unknown model(s) {unknown}; choose from {', '.join(MODELS)}")
    max_length = args.max_length or (256 if args.tiny else 4096)
    variants = args.variants.split(",")

    import datasets
    import transformers

    from pytest_agorabench.training.tiny_student import build_tokenizer

    datasets.disable_progress_bars()
    transformers.logging.disable_progress_bar()

    seeds = load_seeds()
    tokenizer = build_tokenizer([s["instruction"] + "\n" + s["response"] for s in seeds])
    results = {"env": environment(device), "peak_flops": args.peak_flops, "models": {}}
    print(json.dumps(results["env"]), flush=True)

    def save() -> None:
        if args.out:
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(json.dumps(results, indent=2) + "\n")

    for model_name in models:
        if time.perf_counter() - began > args.budget_s:
            print(f"[{model_name}] skipped: over the {args.budget_s:.0f} s budget", flush=True)
            continue
        with tempfile.TemporaryDirectory(prefix="gpu-sft-") as tmp:
            work = Path(tmp)
            model_dir = work / "model"
            n_params = build_model_dir(model_name, tokenizer, model_dir, device)
            rows = make_rows(seeds, tokenizer, args.tokens or DEFAULT_TOKENS[model_name], max_length)
            packed = packed_sequences(rows, tokenizer, max_length)
            recipe = paper_shaped_recipe(max_length, args.batch, args.accum, args.lr)
            # One packed sequence per micro-batch, same sequences per optimizer step.
            fixed = replace(recipe, per_device_batch=1, grad_accum=recipe.per_device_batch * recipe.grad_accum)
            entry = {"n_params": n_params, "rows": len(rows), "packed_sequences": len(packed),
                     "max_length": max_length, "recipe": recipe.fingerprint(), "variants": {}}
            results["models"][model_name] = entry
            print(f"\n[{model_name}] {n_params / 1e6:.1f}M params, {len(rows)} rows -> {len(packed)} packed",
                  flush=True)
            for variant in variants:
                start = time.perf_counter()
                if start - began > args.budget_s:
                    print(f"  {variant}: skipped, over the {args.budget_s:.0f} s budget", flush=True)
                    continue
                try:
                    if variant == "ours":
                        out = run_ours(model_dir, rows, recipe, device, work, fp32_master=False, cap_s=args.cap_s)
                    elif variant == "ours_fixed":
                        out = run_ours(model_dir, rows, fixed, device, work, fp32_master=True, cap_s=args.cap_s)
                    elif variant == "plain":
                        out = run_plain(model_dir, packed, recipe, device, tokenizer.pad_token_id, args.cap_s)
                    elif variant == "plain_b1":  # the plain loop at ours_fixed's micro-batch shape
                        out = run_plain(model_dir, packed, fixed, device, tokenizer.pad_token_id, args.cap_s)
                    else:
                        sys.exit(f"gpu_sft: unknown variant {variant!r}")
                    out["mfu"] = 6 * n_params * out["tokens_per_s"] / args.peak_flops if device == "cuda" else None
                except Exception as exc:  # keep the other variants' figures
                    import traceback

                    traceback.print_exc()
                    out = {"error": f"{type(exc).__name__}: {exc}"}
                out["wall_seconds"] = time.perf_counter() - start
                entry["variants"][variant] = out
                print(f"  {variant}: {json.dumps(out)}", flush=True)
                save()
            plain = entry["variants"].get("plain", {}).get("tokens_per_s")
            if plain:
                entry["ratio_vs_plain"] = {k: v["tokens_per_s"] / plain for k, v in entry["variants"].items()
                                           if "tokens_per_s" in v}
            save()
    print_table(results)


if __name__ == "__main__":
    main()
