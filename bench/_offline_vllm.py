"""Baseline half of bench/serving_throughput.py, run by the vllm interpreter: vllm's offline ``LLM.chat`` on
the job's prompts in one batch; prints ``RESULT {"seconds", "output_tokens"}`` (vllm logs to stdout too). Same CPU-build
settings as our server (serving/vllm_launch.py: eager, 4,096-token context, 1 GiB KV cache)."""

import json
import os
import sys
import time

os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")


def main() -> None:
    from vllm import LLM, SamplingParams

    job = json.loads(open(sys.argv[1]).read())
    llm = LLM(model=job["model"], enforce_eager=True, max_model_len=4096, seed=0)
    params = SamplingParams(
        temperature=job["temperature"], top_p=job["top_p"], max_tokens=job["max_tokens"], stop=job["stop"]
    )
    conversations = [[{"role": "system", "content": job["system"]}, {"role": "user", "content": p}] for p in job["prompts"]]
    start = time.perf_counter()
    outputs = llm.chat(conversations, params, use_tqdm=False)
    seconds = time.perf_counter() - start
    tokens = sum(len(o.outputs[0].token_ids) for o in outputs)
    print("RESULT " + json.dumps({"seconds": seconds, "output_tokens": tokens}), flush=True)


if __name__ == "__main__":  # vllm's engine starts worker processes that import this module again
    main()
