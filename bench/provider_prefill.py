"""What the shared-prefix prefill and the reserved KV cache save in our in-process provider, per setting.

For each setting, 16 generation prompts built as the stage builds them (the smoke world's seeds, the
``agorabench`` meta-prompts, constrained to the layout as smoke runs them) go through the provider's batch
function in three modes, rounds alternating so machine load hits all alike:

* ``plain`` (the baseline): whole prompts left-padded, transformers' own growing cache;
* ``prefix``: the batch's common token prefix prefilled once, its cache copied to every row;
* ``prefix+reserved``: the same, decoding into a cache reserved for the whole generation.

Prints seconds per batch and the ratio against ``plain`` measured in the same process, the shared prefix in
tokens, and whether every answer equals the baseline's (it must).

    python bench/provider_prefill.py
    python bench/provider_prefill.py --settings math/instance_generation --rounds 3
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

DEFAULT_SETTINGS = ("math/instance_generation", "code/response_generation", "instruction_following/quality_enhancement")
MODES = ("plain", "prefix", "prefix+reserved")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="smollm2-135m")
    parser.add_argument("--settings", nargs="+", default=list(DEFAULT_SETTINGS))
    parser.add_argument("--rows", type=int, default=16)
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()

    import torch
    from _stage_prompts import stage_prompts

    from pytest_agorabench.providers import local_provider
    from pytest_agorabench.generation._inspect_task import generation_config
    from pytest_agorabench.generation.constraint import constrained_config
    from pytest_agorabench.providers.local_provider import SamplingParams, get_engine

    torch.set_num_threads(1)  # as each of smoke's two workers runs on a 2-core box
    engine = get_engine(args.model, "cpu")
    least = local_provider.MIN_SHARED_PREFIX

    def use(mode: str) -> None:
        local_provider.MIN_SHARED_PREFIX = least if mode != "plain" else 10**9
        engine._reserve = mode == "prefix+reserved"

    print(f"{args.model}, {args.rows} rows per batch, {args.max_tokens} new tokens, constrained, 1 thread")
    for key in args.settings:
        setting, prompts, texts = stage_prompts(engine, key, args.rows, "provider-prefill")
        config = generation_config(args.max_tokens)
        config = config.model_copy(update=constrained_config(f"agora/{args.model}", prompts.layout(setting)))
        params = SamplingParams.from_config(config)
        requests = [(text, 1000 + k) for k, text in enumerate(texts)]
        ids = [engine.encode(t) for t in texts]
        shared = local_provider._common_prefix_len(ids)
        use("plain")
        engine.run_batch(requests[:2], params)  # warm-up: grammar and first-call costs outside the timings
        seconds = {m: 0.0 for m in MODES}
        answers: dict[str, list[str]] = {}
        for _ in range(args.rounds):
            for mode in MODES:
                use(mode)
                start = time.perf_counter()
                outs = engine.run_batch(requests, params)
                seconds[mode] += time.perf_counter() - start
                answers.setdefault(mode, [o.text for o in outs])
        use("prefix+reserved")
        same = all(answers[m] == answers["plain"] for m in MODES)
        lengths = sorted(len(x) for x in ids)
        print(f"\n{key}: prompts {lengths[0]}-{lengths[-1]} tokens, shared prefix {shared}; answers identical: {same}")
        for mode in MODES:
            per = seconds[mode] / args.rounds
            print(f"  {mode:16s} {per:6.1f} s per batch   {seconds['plain'] / seconds[mode]:4.2f}x plain")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
