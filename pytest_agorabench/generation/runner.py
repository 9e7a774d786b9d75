"""``run_generation``: the generation stage's entry function (ARCHITECTURE.md data flow).

Resume: every finished instance (accepted or dropped) is appended to the journal the moment it is
done, and the inspect dataset only holds the instances whose ids are not in the journal yet. A killed
run therefore restarts with exactly the missing ids; the result always reads back the whole journal.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_agorabench.errors import AgoraBenchError
from pytest_agorabench.files import Journal
from pytest_agorabench.generation.demos import MIXES, NUM_DEMOS
from pytest_agorabench.generation.instance import (
    GenerationContext,
    instance_id,
    is_dropped,
    reason_key,
)
from pytest_agorabench.generation.meta_prompts import MetaPrompts
from pytest_agorabench.generation.validators import DEFAULT_MAX_SEQ_LEN, CountTokens
from pytest_agorabench.models import resolve_model
from pytest_agorabench.settings import Method, Setting

if TYPE_CHECKING:
    from inspect_ai.model import Model


@dataclass
class GenerationResult:
    rows: list[dict]  # accepted rows, in id order
    drops: dict[str, int]  # reason key -> count (the part of the reason before ':')
    dropped_rows: list[dict]  # in id order
    requested: int
    attempts: int  # over every instance and attempt, this run and earlier (resumed) ones
    input_tokens: int
    output_tokens: int
    fence_stripped: int = 0  # json variant: accepted outputs whose JSON came inside a code fence
    force_closed: int = 0  # --agora-structured: accepted rows with a part closed at its token deadline
    misfits: int = 0  # --agora-structured: attempts whose output broke the layout (the constraint ignored)
    log_file: str | None = None  # this call's inspect eval log; None when the journal had everything


class GenerationIncomplete(AgoraBenchError, RuntimeError):
    """Some instances were neither accepted nor dropped (eval error or interruption); rerun to resume."""


def planned_count(setting: Setting, seeds: Sequence[Mapping[str, Any]], instances: int) -> int:
    """Instances to produce: response generation / quality enhancement use seed i for instance i."""
    if setting.method is Method.INSTANCE_GENERATION:
        return instances
    return min(instances, len(seeds))


def cap_notice(setting: Setting, seed_rows: int, instances: int) -> str | None:
    """What the terminal and the report say when seed rows, not --instances, set the size (else None)."""
    if setting.method is Method.INSTANCE_GENERATION or instances <= seed_rows:
        return None
    return (
        f"{instances} instances asked, {seed_rows} generated: {setting.method.value} writes one instance per "
        f"seed row and there are {seed_rows}"
    )


def run_generation(
    setting: Setting,
    seeds: list[dict],
    *,
    model: str | Model,
    instances: int,
    max_tokens: int,
    max_attempts: int,
    seed: int,
    demo_mix: str,
    journal: Journal,
    log_dir: Path,
    concurrency: int,
    count_tokens: CountTokens | None = None,
    max_seq_len: int = DEFAULT_MAX_SEQ_LEN,
    leak_case_sensitive: bool = True,
    model_args: dict[str, Any] | None = None,
    prompts: MetaPrompts | None = None,
    on_progress: Callable[[int, int, int], None] | None = None,
    structured: bool = False,
) -> GenerationResult:
    """Generate ``instances`` rows for ``setting`` with ``model`` (alias, inspect model string or Model).

    ``count_tokens`` / ``max_seq_len``: the student's token counter and sequence length for the length
    validator (default: a character-based estimate and 4,096). ``leak_case_sensitive=False`` gives the
    official case-insensitive leak check. ``model_args`` go to inspect's ``eval`` (provider options).
    ``prompts``: the meta-prompt variant or prompt folder (default: the agorabench prompts).
    ``on_progress(done, requested, dropped)``: called with the journal's counts at the start and after every
    finished instance (accepted or dropped), for a progress display.
    ``structured``: constrain the output to the prompts' layout through the model's backend
    (generation/constraint.py), re-check every output against it and count the misfits.
    """
    prompts = prompts or MetaPrompts()
    prompts.check(setting)
    if demo_mix not in MIXES:
        raise ValueError(f"unknown demo_mix {demo_mix!r}; choose from {', '.join(MIXES)}")
    if max_attempts < 1 or concurrency < 1 or instances < 0:
        raise ValueError("max_attempts and concurrency must be >= 1 and instances >= 0")
    if setting.method is Method.INSTANCE_GENERATION and len(seeds) < NUM_DEMOS:
        raise ValueError(f"instance generation needs at least {NUM_DEMOS} seed rows, got {len(seeds)}")
    if isinstance(model, str) and "/" not in model:
        model = resolve_model(model).inspect_model  # an alias such as "gpt-4o"
    n = planned_count(setting, seeds, instances)
    done = journal.done_ids
    todo = [i for i in range(n) if instance_id(i) not in done]
    on_row = _progress_counter(journal, n, on_progress) if on_progress is not None else None
    log_file = None
    layout = prompts.layout(setting) if structured else None
    if todo:
        from pytest_agorabench.generation.constraint import constrained_config

        ctx = GenerationContext(
            setting=setting,
            seeds=seeds,
            journal=journal,
            seed=seed,
            demo_mix=demo_mix,
            max_attempts=max_attempts,
            count_tokens=count_tokens,
            max_seq_len=max_seq_len,
            leak_case_sensitive=leak_case_sensitive,
            prompts=prompts,
            on_row=on_row,
            layout=layout,
        )
        from pytest_agorabench.generation._inspect_task import (
            run_eval,  # lazy: inspect is slow to import
        )

        log = run_eval(
            ctx,
            todo,
            model=model,
            model_args=model_args,
            max_tokens=max_tokens,
            log_dir=Path(log_dir),
            concurrency=concurrency,
            metadata={
                "setting": setting.key,
                "seed": seed,
                "demo_mix": demo_mix,
                "max_attempts": max_attempts,
                "requested": n,
                "resumed_with": n - len(todo),
                "prompts": prompts.name,
                "prompt_fingerprint": prompts.fingerprint(setting),
                "structured": layout.key if layout else None,
            },
            constraint=constrained_config(str(model), layout) if layout else None,
        )
        log_file = log.location
        missing = [instance_id(i) for i in todo if instance_id(i) not in journal.done_ids]
        if missing:
            errors = [s.error.message for s in (log.samples or []) if s.error is not None][:3]
            detail = log.error.message if log.error else "; ".join(errors) or "no error recorded"
            raise GenerationIncomplete(
                f"generation of {setting.key} stopped with {len(missing)} of {n} instances unfinished "
                f"(eval status {log.status!r}: {detail}). Finished instances are journaled in "
                f"{journal.path}; rerun to resume. Log: {log_file}"
            )
    result = collect(journal, n)
    result.log_file = log_file
    return result


def _progress_counter(
    journal: Journal, n: int, on_progress: Callable[[int, int, int], None]
) -> Callable[[Mapping[str, Any]], None]:
    """Reports the rows journaled so far (a resumed run starts from the earlier ones), then one per row (every
    new row is one of the missing instances 0..n-1)."""
    so_far = collect(journal, n)
    counts = [len(so_far.rows) + len(so_far.dropped_rows), len(so_far.dropped_rows)]
    on_progress(counts[0], n, counts[1])

    def on_row(row: Mapping[str, Any]) -> None:
        counts[0] += 1
        counts[1] += is_dropped(row)
        on_progress(counts[0], n, counts[1])

    return on_row


def collect(journal: Journal, n: int) -> GenerationResult:
    """The result for instances 0..n-1 from the journal (all runs so far)."""
    wanted = {instance_id(i) for i in range(n)}
    rows = sorted((r for r in journal.rows if r["id"] in wanted), key=lambda r: r["id"])
    accepted = [r for r in rows if not is_dropped(r)]
    dropped = [r for r in rows if is_dropped(r)]
    return GenerationResult(
        rows=accepted,
        drops=dict(Counter(reason_key(r["dropped"]) for r in dropped)),
        dropped_rows=dropped,
        requested=n,
        attempts=sum(int(r.get("attempts", 0)) for r in rows),
        input_tokens=sum(int(r.get("input_tokens", 0)) for r in rows),
        output_tokens=sum(int(r.get("output_tokens", 0)) for r in rows),
        fence_stripped=sum(1 for r in accepted if r.get("fence_stripped")),
        force_closed=sum(1 for r in accepted if r.get("force_closed")),
        misfits=sum(int(r.get("misfits", 0)) for r in rows),
    )
