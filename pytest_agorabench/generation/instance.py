"""One instance, start to finish: build its prompt, try up to ``max_attempts`` times, journal the row.

Free of inspect: the model call is injected (``Call``), so the retry logic is testable on its own and
the inspect solver in ``_inspect_task`` stays a thin adapter.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pytest_agorabench.files import Journal
from pytest_agorabench.generation.cleanup import clean
from pytest_agorabench.generation.demos import sample_for_instance
from pytest_agorabench.generation.layouts import Layout
from pytest_agorabench.generation.meta_prompts import MetaPrompts
from pytest_agorabench.generation.parse import Parsed
from pytest_agorabench.generation.prompts import domain_rules
from pytest_agorabench.generation.prompts.base import END_MARKER
from pytest_agorabench.generation.validators import CountTokens, validate
from pytest_agorabench.settings import Method, Setting

LAST_OUTPUT_CHARS = 2_000
# "unknown" counts as a natural stop: providers that cannot say why they stopped are not assumed to
# have truncated (a cut-off math answer still fails the result-tag check).
NATURAL_STOPS = frozenset({"stop", "unknown"})
TRUNCATION_STOPS = frozenset({"max_tokens", "model_length"})


def instance_id(index: int) -> str:
    return f"gen-{index:05d}"


def reason_key(reason: str) -> str:
    """``"leak: response contains 'INPUT:'"`` -> ``"leak"``: the bucket drops are counted in."""
    return reason.split(":", 1)[0].strip()


def is_dropped(row: Mapping[str, Any]) -> bool:
    return "dropped" in row


@dataclass
class Attempt:
    """What one model call returned (or the error it raised)."""

    text: str = ""
    stop_reason: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    error: str | None = None  # "model_error: ..." when the call raised
    usage_estimated: bool = False
    force_closed: int = 0  # --agora-structured: parts of the layout the provider closed at their token deadline


Call = Callable[[str, str], Awaitable[Attempt]]  # (system message, user message) -> Attempt


@dataclass
class GenerationContext:
    """Everything shared by the instances of one run; ``pool`` grows as instances are accepted."""

    setting: Setting
    seeds: Sequence[Mapping[str, Any]]
    journal: Journal
    seed: int
    demo_mix: str
    max_attempts: int
    count_tokens: CountTokens | None = None
    max_seq_len: int = 4096
    leak_case_sensitive: bool = True
    prompts: MetaPrompts = field(default_factory=MetaPrompts)
    pool: list[Mapping[str, Any]] = field(default_factory=list)
    on_row: Callable[[Mapping[str, Any]], None] | None = None  # told of every row journaled (progress counts)
    # --agora-structured: the layout every output is re-checked against (a backend may ignore a constraint).
    layout: Layout | None = None

    def __post_init__(self) -> None:
        self.rules = domain_rules(self.setting.domain)
        if not self.pool:
            self.pool = [r for r in self.journal.rows if not is_dropped(r)]

    def prompt_for(self, index: int) -> tuple[str, dict[str, Any]]:
        """The user message for instance ``index`` and metadata worth logging (theme, demo origins)."""
        if self.setting.method is Method.INSTANCE_GENERATION:
            draw = sample_for_instance(
                self.rules, self.seeds, self.pool, seed=self.seed, index=index, mix=self.demo_mix
            )
            prompt = self.prompts.build(self.setting, demos=draw.demos, theme=draw.theme, opening=draw.opening)
            meta = {"theme": draw.theme, "opening": draw.opening, "demo_origins": draw.origins, "demo_ids": draw.ids}
            return prompt, meta
        seed_row = self.seeds[index]
        return self.prompts.build(self.setting, seed_row=seed_row), {"seed_id": seed_row.get("id")}

    def judge(self, index: int, attempt: Attempt) -> tuple[dict[str, Any] | None, str]:
        """(accepted fields, "") or (None, reason) for one attempt."""
        if attempt.error:
            return None, attempt.error
        stopped_naturally = attempt.stop_reason in NATURAL_STOPS
        if not stopped_naturally and not attempt.text.rstrip().endswith(END_MARKER):
            if attempt.stop_reason in TRUNCATION_STOPS:
                return None, f"truncated: stop reason {attempt.stop_reason}"
            return None, f"stopped_{attempt.stop_reason}: the model stopped without finishing"
        seed_row = None if self.setting.method is Method.INSTANCE_GENERATION else self.seeds[index]
        parsed = self.prompts.parse(self.setting, attempt.text, seed_row)
        if not isinstance(parsed, Parsed):
            return None, parsed
        response, cleaned = clean(self.setting.domain.value, parsed.response)
        reason = validate(
            self.setting.domain.value,
            parsed.instruction,
            response,
            count_tokens=self.count_tokens,
            max_seq_len=self.max_seq_len,
            leak_case_sensitive=self.leak_case_sensitive,
        )
        if reason:
            return None, reason
        accepted = {"instruction": parsed.instruction, "response": response, "cleaned": cleaned}
        if parsed.fence_stripped:
            accepted["fence_stripped"] = True
        return accepted, ""

    async def produce(self, index: int, call: Call) -> tuple[dict[str, Any], dict[str, Any]]:
        """Run instance ``index`` to the end, journal its row and return (row, metadata for the log)."""
        prompt, meta = self.prompt_for(index)
        totals = {"attempts": 0, "input_tokens": 0, "output_tokens": 0}
        reasons: list[str] = []
        accepted: dict[str, Any] | None = None
        last = Attempt()
        estimated = False
        misfits = 0
        for _ in range(self.max_attempts):
            last = await call(self.prompts.system, prompt)
            totals["attempts"] += 1
            totals["input_tokens"] += last.input_tokens
            totals["output_tokens"] += last.output_tokens
            estimated = estimated or last.usage_estimated
            # A cut-off output is a "truncated" drop already; only a finished one that breaks the layout
            # shows a backend that ignored the constraint.
            finished = last.stop_reason in NATURAL_STOPS
            if self.layout is not None and finished and not last.error and not self.layout.fits(last.text):
                misfits += 1
            accepted, reason = self.judge(index, last)
            if accepted is not None:
                break
            reasons.append(reason)
        row: dict[str, Any] = {"id": instance_id(index)}
        if accepted is not None:
            row.update(instruction=accepted["instruction"], response=accepted["response"], **totals)
            row["cleaned"] = accepted["cleaned"]
            if accepted.get("fence_stripped"):
                row["fence_stripped"] = True  # json variant: counted in the run's summary
        else:
            row.update(dropped=reasons[-1], **totals, last_output=last.text[:LAST_OUTPUT_CHARS])
            row["attempt_reasons"] = reasons
        if estimated:
            row["usage_estimated"] = True  # the provider reported no usage; tokens are estimates
        if misfits:
            row["misfits"] = misfits  # attempts whose output broke the layout although it was constrained
        if accepted is not None and last.force_closed:
            row["force_closed"] = last.force_closed  # parts the provider closed: counted in the run's summary
        if self.journal.append(row):
            if accepted is not None:
                self.pool.append(row)
            if self.on_row is not None:
                self.on_row(row)
        meta.update(attempts=totals["attempts"], reasons=reasons, accepted=accepted is not None)
        return row, meta
