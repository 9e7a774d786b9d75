"""Decoding throughput of two CPU processes (two xdist workers) with and without sharing out the cores.

Each process loads SmolLM2-135M-Instruct and greedily decodes a fixed number of tokens for a batch of the
same prompt with transformers' ``generate`` (as our in-process provider does). Three layouts, run one
after another in this process's children:

- baseline: one process with torch's default thread count (one per core);
- two processes at once with the default thread count each (``-n 2`` before serving/cpu_share.py);
- two processes at once with cores // 2 threads each (what cpu_share.py sets in every worker).

Prints the summed tokens/s of each layout and its ratio to the baseline (higher is better).

    python bench/cpu_share.py                   # batch 4, 96 new tokens
    python bench/cpu_share.py --batch 8 --tokens 64
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

CHILD = r"""
import json, sys, time
import torch
threads = int(sys.argv[1])
if threads:
    torch.set_num_threads(threads)
from transformers import AutoModelForCausalLM, AutoTokenizer
path, batch, tokens = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
tok = AutoTokenizer.from_pretrained(path)
tok.padding_side = "left"
model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32).eval()
text = "Tell me about the history of the bicycle and how it changed city life. " * 8
prompt = tok.apply_chat_template([{"role": "user", "content": text}], tokenize=False, add_generation_prompt=True)
enc = tok([prompt] * batch, return_tensors="pt", padding=True)
kw = dict(do_sample=False, pad_token_id=tok.eos_token_id)
with torch.no_grad():
    model.generate(**enc, max_new_tokens=4, **kw)  # warm-up
    sys.stdout.write("ready\n"); sys.stdout.flush()
    sys.stdin.readline()  # start together with the other process
    start = time.perf_counter()
    model.generate(**enc, max_new_tokens=tokens, min_new_tokens=tokens, **kw)
    elapsed = time.perf_counter() - start
print(json.dumps({"tokens_per_s": batch * tokens / elapsed, "threads": torch.get_num_threads()}))
"""


def run_together(n: int, threads: int, path: str, batch: int, tokens: int) -> list[dict]:
    procs = [
        subprocess.Popen([sys.executable, "-c", CHILD, str(threads), path, str(batch), str(tokens)],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        for _ in range(n)
    ]
    for p in procs:  # every model loaded and warmed before any timing starts
        if p.stdout.readline().strip() != "ready":
            raise SystemExit("a benchmark process failed to load the model")
    for p in procs:
        p.stdin.write("go\n")
        p.stdin.flush()
    return [json.loads(p.communicate()[0].strip().splitlines()[-1]) for p in procs]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="checkpoint directory (default: SmolLM2-135M-Instruct from our model cache)")
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--tokens", type=int, default=96)
    args = parser.parse_args()
    from pytest_agorabench.providers.local_models import smollm2_dir
    from pytest_agorabench.serving.cpu_share import available_cpus, threads_per_worker

    path = args.model or str(smollm2_dir())
    cpus = available_cpus()
    base = run_together(1, 0, path, args.batch, args.tokens)[0]
    layouts = [
        (f"1 process, {base['threads']} threads (baseline)", [base]),
        (f"2 processes, default threads each", run_together(2, 0, path, args.batch, args.tokens)),
        (f"2 processes, {threads_per_worker(2, cpus)} thread(s) each (cpu_share)",
         run_together(2, threads_per_worker(2, cpus), path, args.batch, args.tokens)),
    ]
    print(f"{cpus} cores, batch {args.batch}, {args.tokens} new tokens")
    for name, runs in layouts:
        total = sum(r["tokens_per_s"] for r in runs)
        print(f"{name:45s} {total:7.1f} tokens/s  ratio {total / base['tokens_per_s']:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
