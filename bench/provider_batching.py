"""How our in-process provider's throughput scales with its batch size, against its old default of 8.

N requests (math response-generation prompts of the smoke world, built as the generation stage builds them)
go to the ``agora`` engine at once, as inspect sends them, sampled with the stage's own settings and, with
``--structured on`` (the smoke profile's default), constrained to the layout. The engine groups them into
batches of at most B rows (``-M batch_size``); each batch runs to its longest row. Prints generated tokens
per second for each B and the ratio against B = 8 measured in the same process (the baseline: the
provider's default before issue 20), the B values alternating round by round so machine load hits all alike.

    python bench/provider_batching.py                              # 32 requests, B = 8, 16, 32, 128 tokens
    python bench/provider_batching.py --requests 64 --batch-sizes 8 32 64 --structured off
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

BASELINE = 8


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="smollm2-135m")
    parser.add_argument("--requests", type=int, default=32)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[BASELINE, 16, 32])
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--structured", choices=("on", "off"), default="on")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--setting", default="math/response_generation")
    args = parser.parse_args()

    from _stage_prompts import stage_prompts

    from pytest_agorabench.generation._inspect_task import generation_config
    from pytest_agorabench.generation.constraint import constrained_config
    from pytest_agorabench.providers.local_provider import SamplingParams, get_engine

    sizes = sorted(set(args.batch_sizes) | {BASELINE})
    engine = get_engine(args.model, "cpu")
    setting, prompts, texts = stage_prompts(engine, args.setting, args.requests, "provider-batching")
    config = generation_config(args.max_tokens)
    if args.structured == "on":
        config = config.model_copy(update=constrained_config(f"agora/{args.model}", prompts.layout(setting)))
    params = SamplingParams.from_config(config)

    async def burst(batch_size: int, round_no: int) -> tuple[float, int]:
        start = time.perf_counter()
        outs = await asyncio.gather(*[
            engine.submit(t, dataclasses.replace(params, seed=1000 * round_no + k), batch_size, 0.005)
            for k, t in enumerate(texts)
        ])
        return time.perf_counter() - start, sum(o.output_tokens for o in outs)

    asyncio.run(burst(BASELINE, 0))  # warm-up: first-call costs (grammar, tokenizer) outside the timings
    seconds = {b: 0.0 for b in sizes}
    tokens = {b: 0 for b in sizes}
    for r in range(1, args.rounds + 1):
        for b in sizes:
            s, n = asyncio.run(burst(b, r))
            seconds[b] += s
            tokens[b] += n
    print(f"{args.model}, {args.requests} requests at once, {args.max_tokens} tokens, structured {args.structured}, "
          f"{args.rounds} rounds")
    base = tokens[BASELINE] / seconds[BASELINE]
    for b in sizes:
        rate = tokens[b] / seconds[b]
        print(f"batch size {b:3d}: {rate:6.1f} generated tokens/s  ratio vs batch size {BASELINE}: {rate / base:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
