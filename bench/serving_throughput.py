"""Our generation stage through a shared vllm server against vllm's own offline ``LLM.chat``, same prompts.

Measured: ``run_generation`` (inspect -> our solver -> inspect's vllm provider -> the server our serving
layer started, serving/pool.py) on N math response-generation prompts, all N in flight, one attempt each.
Baseline: the same N prompts (system + user message, the same chat template), temperature 1.0, top-p 0.9,
the same max tokens and stop string, through ``vllm.LLM.chat`` in one batch, in the vllm interpreter
(bench/_offline_vllm.py). Model loading and server start-up are outside both timings. Prints output tokens
per second of each and the ratio ours / vllm offline (higher is better; 1.0 = no serving overhead).

    export AGORABENCH_VLLM_PYTHON=$PWD/.venv-vllm/bin/python     # the venv .ci/run makes
    python bench/serving_throughput.py                            # SmolLM2-135M, 32 prompts, 256 tokens
    python bench/serving_throughput.py --prompts 64 --max-tokens 128
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="checkpoint directory (default: SmolLM2-135M-Instruct from our model cache)")
    parser.add_argument("--prompts", type=int, default=32)
    parser.add_argument("--max-tokens", type=int, default=256)
    args = parser.parse_args()

    from pytest_agorabench.files import Journal
    from pytest_agorabench.generation import run_generation
    from pytest_agorabench.generation._inspect_task import STOP_SEQS, TEMPERATURE, TOP_P
    from pytest_agorabench.generation.meta_prompts import MetaPrompts
    from pytest_agorabench.providers.local_models import resolve_local_model
    from pytest_agorabench.seeds import load_seeds
    from pytest_agorabench.serving import GENERATOR, Servers
    from pytest_agorabench.serving.vllm_launch import vllm_python
    from pytest_agorabench.settings import get_setting

    python = vllm_python()
    model = str(Path(args.model).resolve()) if args.model else str(resolve_local_model("smollm2-135m"))
    setting = get_setting("math/response_generation")
    seeds = load_seeds(setting, data_source="fixture", limit=None, seed=42).rows
    n = min(args.prompts, len(seeds))
    prompts = MetaPrompts()
    work = Path(tempfile.mkdtemp(prefix="agorabench-bench-"))

    servers = Servers(work / "servers", "bench", log_dir=work / "logs")
    try:
        endpoint = servers.endpoint(f"vllm/{model}", GENERATOR)  # start-up is not timed
        start = time.perf_counter()
        result = run_generation(
            setting, seeds, model=endpoint.inspect_model(), instances=n, max_tokens=args.max_tokens,
            max_attempts=1, seed=42, demo_mix="intended", journal=Journal(work / "journal.jsonl"),
            log_dir=work / "inspect", concurrency=n, prompts=prompts,
        )
        ours_s = time.perf_counter() - start
    finally:
        servers.close()
    ours_tokens = result.output_tokens

    job = {
        "model": model,
        "system": prompts.system,
        "prompts": [prompts.build(setting, seed_row=seeds[i]) for i in range(n)],
        "temperature": TEMPERATURE, "top_p": TOP_P, "max_tokens": args.max_tokens, "stop": list(STOP_SEQS),
    }
    (work / "job.json").write_text(json.dumps(job))
    offline = subprocess.run(
        [python, str(Path(__file__).with_name("_offline_vllm.py")), str(work / "job.json")],
        capture_output=True, text=True, check=False,
    )
    if offline.returncode != 0:
        print(offline.stdout[-2000:], offline.stderr[-4000:], file=sys.stderr)
        return 1
    (line,) = [x for x in offline.stdout.splitlines() if x.startswith("RESULT ")]
    theirs = json.loads(line.removeprefix("RESULT "))

    ours_rate = ours_tokens / ours_s
    their_rate = theirs["output_tokens"] / theirs["seconds"]
    print(f"prompts {n}, max tokens {args.max_tokens}, model {model}")
    print(f"ours (generation stage -> shared vllm server): {ours_tokens} tokens in {ours_s:.1f} s = {ours_rate:.1f} tok/s")
    print(f"vllm offline LLM.chat (one batch):               {theirs['output_tokens']} tokens in "
          f"{theirs['seconds']:.1f} s = {their_rate:.1f} tok/s")
    print(f"ratio ours / vllm offline: {ours_rate / their_rate:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
