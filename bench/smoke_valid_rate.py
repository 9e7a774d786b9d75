"""How often one generation attempt of the smoke generator survives our parser and validators, per setting.

For each of the nine settings: K prompts built exactly as the generation stage builds them (our fixture
seeds, the chosen meta-prompt variant, instance generation drawing its demonstrations and themes), one
sampled attempt each through our in-process provider's engine (batches of 16, temperature 1.0, top-p 0.9,
stop at [END]), judged by the stage's own attempt check (stop reason, parser, cleanup, validators). Prints
the valid share with its exact (Clopper-Pearson) 95 % interval, the drop reasons, and mean tokens in and out.
Nothing is loosened or scripted: this is the rate the smoke profile's attempt budget works against.

    python bench/smoke_valid_rate.py                         # SmolLM2-135M, 16 attempts per setting
    python bench/smoke_valid_rate.py --attempts 8 --settings math/response_generation --show 2
"""

from __future__ import annotations

import argparse
import collections
import tempfile
import time
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="smollm2-135m", help="a local model name or checkpoint directory")
    parser.add_argument("--attempts", type=int, default=16, help="attempts (one per prompt) per setting")
    parser.add_argument("--variant", default="agorabench", help="meta-prompt variant or prompt folder")
    parser.add_argument("--max-tokens", type=int, default=512, help="new-token budget (the smoke profile's)")
    parser.add_argument("--temperature", type=float, default=1.0)
    parser.add_argument("--settings", help="comma-separated setting keys (default: all nine)")
    parser.add_argument("--show", type=int, default=0, help="print the first N raw outputs per setting")
    args = parser.parse_args()

    from inspect_ai.model import ChatMessageSystem, ChatMessageUser
    from scipy.stats import binomtest

    from pytest_agorabench.files import Journal
    from pytest_agorabench.generation._inspect_task import TOP_P, generation_config
    from pytest_agorabench.generation.instance import Attempt, GenerationContext, reason_key
    from pytest_agorabench.generation.meta_prompts import meta_prompts
    from pytest_agorabench.providers.local_provider import SamplingParams, get_engine
    from pytest_agorabench.seeds import load_seeds
    from pytest_agorabench.settings import SETTINGS, Method

    engine = get_engine(args.model, "cpu")
    prompts = meta_prompts(args.variant)
    wanted = set(args.settings.split(",")) if args.settings else None
    # The generation stage's own sampling settings; only the temperature may be changed here.
    config = generation_config(args.max_tokens).model_copy(update={"temperature": args.temperature})
    params = SamplingParams.from_config(config)
    print(f"{args.model}, {args.variant} prompts, {args.attempts} attempts per setting, "
          f"T={args.temperature}, top-p {TOP_P}, {args.max_tokens} tokens")
    for setting in SETTINGS:
        if wanted and setting.key not in wanted:
            continue
        seeds = load_seeds(setting, data_source="fixture").rows
        journal = Journal(Path(tempfile.mkdtemp(prefix="valid-rate-")) / "journal.jsonl")
        ctx = GenerationContext(setting=setting, seeds=seeds, journal=journal, seed=42, demo_mix="intended",
                                max_attempts=1, prompts=prompts)
        seeded = setting.method is not Method.INSTANCE_GENERATION
        index = [i % len(seeds) if seeded else i for i in range(args.attempts)]
        texts = [
            engine.format_chat([ChatMessageSystem(content=prompts.system), ChatMessageUser(content=ctx.prompt_for(i)[0])])
            for i in index
        ]
        start = time.perf_counter()
        outputs = []
        for b in range(0, len(texts), 16):
            outputs += engine.run_batch([(t, 1000 + b + k) for k, t in enumerate(texts[b : b + 16])], params)
        valid, reasons, tokens_in, tokens_out = 0, collections.Counter(), 0, 0
        for i, out in zip(index, outputs):
            accepted, reason = ctx.judge(i, Attempt(out.text, out.stop_reason, out.input_tokens, out.output_tokens))
            tokens_in += out.input_tokens
            tokens_out += out.output_tokens
            if accepted is not None:
                valid += 1
            else:
                reasons[reason_key(reason)] += 1
        n = len(outputs)
        ci = binomtest(valid, n).proportion_ci(0.95, method="exact")  # Clopper-Pearson
        low, high = ci.low, ci.high
        print(f"{setting.key:42s} valid {valid:2d}/{n} ({100 * valid / n:3.0f} %, 95 % CI {100 * low:.0f}-"
              f"{100 * high:.0f} %)  in {tokens_in / n:4.0f} out {tokens_out / n:4.0f} tokens  "
              f"{time.perf_counter() - start:5.0f} s  drops {dict(reasons.most_common())}", flush=True)
        for out in outputs[: args.show]:
            print("    |", repr(out.text[:300]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
