"""How often one generation attempt of the smoke generator survives our parser and validators, per setting.

For each of the nine settings: K prompts built exactly as the generation stage builds them (the smoke world's
seeds, the chosen meta-prompt variant, instance generation drawing its demonstrations and themes), one
sampled attempt each through our in-process provider's engine (batches of 16, temperature 1.0, top-p 0.9,
stop at [END]), judged by the stage's own attempt check (stop reason, parser, cleanup, validators). Prints
the valid share with its exact (Clopper-Pearson) 95 % interval, the drop reasons, and mean tokens in and out.
Nothing is loosened or scripted: this is the rate the smoke profile's attempt budget works against.

With ``--structured both`` (the default) every setting runs its prompts twice, free and constrained to the
layout (``--agora-structured=on``: llguidance's mask, parts closed at their deadlines), the two batches
alternating so that machine load hits both alike; it also prints the rows whose parts the provider closed
and the per-token cost ratio constrained / unconstrained (wall seconds per generated token, same process).

    python bench/smoke_valid_rate.py                         # SmolLM2-135M, 16 attempts per setting, both
    python bench/smoke_valid_rate.py --attempts 8 --settings math/response_generation --show 2
    python bench/smoke_valid_rate.py --structured off        # the free-text rate only
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
    parser.add_argument("--world", default="smoke_world",
                        help="the fixture world whose seeds are read (smoke_world, the smoke profile's; '' for fixtures/seeds)")
    parser.add_argument("--structured", choices=("both", "on", "off"), default="both",
                        help="free text, constrained to the layout, or both alternating (default)")
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
    from pytest_agorabench.generation.constraint import constrained_config

    modes = ("off", "on") if args.structured == "both" else (args.structured,)
    print(f"{args.model}, {args.world or 'fixtures'} seeds, {args.variant} prompts, {args.attempts} attempts per setting, "
          f"T={args.temperature}, top-p {TOP_P}, {args.max_tokens} tokens, structured {'/'.join(modes)}")
    cost = {mode: [0.0, 0, 0] for mode in modes}  # wall seconds, generated tokens, decoding steps
    for setting in SETTINGS:
        if wanted and setting.key not in wanted:
            continue
        seeds = load_seeds(setting, data_source="fixture", world=args.world or None).rows
        journal = Journal(Path(tempfile.mkdtemp(prefix="valid-rate-")) / "journal.jsonl")
        ctx = GenerationContext(setting=setting, seeds=seeds, journal=journal, seed=42, demo_mix="intended",
                                max_attempts=1, prompts=prompts)
        seeded = setting.method is not Method.INSTANCE_GENERATION
        index = [i % len(seeds) if seeded else i for i in range(args.attempts)]
        texts = [
            engine.format_chat([ChatMessageSystem(content=prompts.system), ChatMessageUser(content=ctx.prompt_for(i)[0])])
            for i in index
        ]
        layout = prompts.layout(setting)
        mode_params = {
            "off": SamplingParams.from_config(config),
            "on": SamplingParams.from_config(config.model_copy(update=constrained_config(f"agora/{args.model}", layout))),
        }
        outputs = {mode: [] for mode in modes}
        for b in range(0, len(texts), 16):  # the modes alternate batch by batch: load hits both alike
            for mode in modes:
                start = time.perf_counter()
                batch = engine.run_batch([(t, 1000 + b + k) for k, t in enumerate(texts[b : b + 16])], mode_params[mode])
                cost[mode][0] += time.perf_counter() - start
                cost[mode][1] += sum(o.output_tokens for o in batch)
                cost[mode][2] += max(o.output_tokens for o in batch)  # a static batch runs to its longest row
                outputs[mode] += batch
        for mode in modes:
            _report(setting.key, mode, ctx, index, outputs[mode], layout, args.show, binomtest, Attempt, reason_key)
    # Per generated token favours the mode whose rows end at similar lengths (a static batch idles on rows that
    # ended early); per decoding step is the cost of one step of the batch, mask included.
    per_token = {mode: seconds / max(tokens, 1) for mode, (seconds, tokens, _) in cost.items()}
    per_step = {mode: seconds / max(steps, 1) for mode, (seconds, _, steps) in cost.items()}
    for mode in modes:
        print(f"structured {mode}: {1000 * per_token[mode]:.1f} ms per generated token ({cost[mode][1]} tokens), "
              f"{1000 * per_step[mode]:.1f} ms per decoding step ({cost[mode][2]} steps)")
    if len(modes) == 2:
        print(f"cost ratio constrained / unconstrained: {per_token['on'] / per_token['off']:.2f}x per generated "
              f"token, {per_step['on'] / per_step['off']:.2f}x per decoding step")
    return 0


def _report(key, mode, ctx, index, outputs, layout, show, binomtest, Attempt, reason_key) -> None:
    valid, reasons, tokens_in, tokens_out, closed, misfits = 0, collections.Counter(), 0, 0, 0, 0
    for i, out in zip(index, outputs):
        accepted, reason = ctx.judge(i, Attempt(out.text, out.stop_reason, out.input_tokens, out.output_tokens))
        tokens_in += out.input_tokens
        tokens_out += out.output_tokens
        closed += out.force_closed > 0
        misfits += mode == "on" and out.stop_reason == "stop" and not layout.fits(out.text)
        if accepted is not None:
            valid += 1
        else:
            reasons[reason_key(reason)] += 1
    n = len(outputs)
    ci = binomtest(valid, n).proportion_ci(0.95, method="exact")  # Clopper-Pearson
    extra = f"  parts closed in {closed} rows, misfits {misfits}" if mode == "on" else ""
    print(f"{key:42s} {mode:3s} valid {valid:2d}/{n} ({100 * valid / n:3.0f} %, 95 % CI {100 * ci.low:.0f}-"
          f"{100 * ci.high:.0f} %)  in {tokens_in / n:4.0f} out {tokens_out / n:4.0f} tokens{extra}  "
          f"drops {dict(reasons.most_common())}", flush=True)
    for out in outputs[:show]:
        print("    |", repr(out.text[:300]))


if __name__ == "__main__":
    raise SystemExit(main())
