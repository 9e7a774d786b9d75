"""The `agorabench` fixture's object: run a case from a test and assert on its result."""

from __future__ import annotations

from contextlib import nullcontext
from typing import Any

import pytest

from pytest_agorabench.errors import AgoraBenchError, user_error_in
from pytest_agorabench.result import CaseResult
from pytest_agorabench.session import RESULT_KEY, AgoraSession
from pytest_agorabench.settings import Setting, get_setting


class AgoraBench:
    def __init__(self, session: AgoraSession, request: pytest.FixtureRequest, progress: Any = None):
        self._session = session
        self._request = request
        self._progress = progress  # report/progress_events.ProgressWriter, or None when progress is off

    @property
    def config(self):
        return self._session.config

    def case(self, setting: str | Setting, **overrides: Any) -> CaseResult:
        """Run one setting (``"math/response_generation"``) and return its CaseResult.

        Keyword overrides take the command-line option names: generator, student, reference, judge,
        instances, profile, min_pgr, ... and are validated the same way.
        """
        from pytest_agorabench.pipeline import run_case
        from pytest_agorabench.preflight import check_setting

        resolved = setting if isinstance(setting, Setting) else get_setting(setting)
        try:
            run_config = self._session.with_overrides(**overrides) if overrides else self.config
        except AgoraBenchError as exc:  # ConfigError: a bad override reads like a bad option
            pytest.fail(f"agorabench: {exc}", pytrace=False)
        try:
            self._session.check_models(run_config)  # every model it calls: provider, package, key
            check_setting(resolved, run_config)  # every file this case reads, before any model call
        except AgoraBenchError as exc:
            pytest.fail(f"agorabench {resolved.key}: {exc}", pytrace=False)
        try:
            events = self._progress.case(resolved.key) if self._progress is not None else nullcontext(None)
            with events as emit:
                if run_config.ray:
                    result = self._session.run_on_cluster(resolved, run_config, emit)
                else:
                    result = run_case(resolved, run_config, servers=self._session.servers_for(run_config), progress=emit)
        except Exception as exc:
            user = user_error_in(exc)  # caused by the user's inputs or environment: a sentence, no traceback
            if user is None:
                raise
            pytest.fail(f"agorabench {resolved.key}: {user}", pytrace=False)
        self._request.config.hook.pytest_agorabench_case_result(result=result, setting=resolved, config=run_config)
        try:
            self._save_and_compare(result, run_config)
        except AgoraBenchError as exc:  # a baseline that is missing or cannot be compared: say which and why
            pytest.fail(f"agorabench {resolved.key}: {exc}", pytrace=False)
        node = self._request.node
        node.stash[RESULT_KEY] = result
        for name, value in result.junit_properties():
            node.user_properties.append((name, value))
        return result

    def _save_and_compare(self, result: CaseResult, config: Any) -> None:
        """--agora-save: this case's record into the saved run. --agora-compare: its comparison with the
        baseline's same setting, as ``result.gate``."""
        if not (config.save or config.compare):
            return
        from pytest_agorabench import gate
        from pytest_agorabench.pipeline.train import case_recipe

        recipe = case_recipe(config, get_setting(result.setting).domain)
        record = gate.case_record(result, recipe.fingerprint(), list(config.training_seeds))
        if config.save:
            gate.save_case(self._session.saved_run(config, config.save), record)
        if config.compare:
            baseline = gate.load_case(self._session.saved_run(config, config.compare), result.setting)
            result.gate = gate.compare(
                record, baseline, margin=config.max_drop, tests=self._session.gated_cases,
                max_failures=config.max_failures, resamples=config.profile.bootstrap_resamples, seed=config.seed,
                baseline_name=config.compare,
            )

    def check(self, setting: str | Setting, **overrides: Any) -> CaseResult:
        """Run a case, fail it closed when its judge left too many items without a usable judgment or when
        more of its generated rows copy benchmark items than --agora-max-contamination allows, and apply
        the --min-pgr gate (what the suites/ tests do)."""
        result = self.case(setting, **overrides)
        resolved = setting if isinstance(setting, Setting) else get_setting(setting)
        if result.gate and result.gate.get("gate") == "failed":
            from pytest_agorabench.gate import describe

            pytest.fail(f"{resolved.key}: {describe(result.gate)}", pytrace=False)
        from pytest_agorabench.pipeline.contamination import over_threshold

        copied = over_threshold(result.contamination)  # --agora-max-contamination
        if copied:
            pytest.fail(f"{resolved.key}: {copied}", pytrace=False)
        unusable = _too_few_judged(result, self.config.profile.max_unjudged_share)
        if unusable:
            pytest.fail(f"{resolved.key}: {unusable}", pytrace=False)
        threshold = self.config.threshold_for(resolved)
        if threshold is None:
            return result
        gate = self.config.gate_on
        value = result.pgr.point if gate == "point" else result.pgr.low
        figures = (
            f"PGR {_fmt(result.pgr.point)} (95% CI {_fmt(result.pgr.low)} .. {_fmt(result.pgr.high)}); "
            + "; ".join(
                f"{b.name}: student {_fmt(b.student)}, base {_fmt(b.base)}, reference {_fmt(b.reference)}"
                for b in result.benchmarks
            )
        )
        if value is None:
            reason = result.pgr.undefined_reason or "interval undefined"
            pytest.fail(f"{resolved.key}: cannot gate at PGR >= {threshold:g}: {reason}. {figures}", pytrace=False)
        if value < threshold:
            what = "PGR" if gate == "point" else "PGR lower bound"
            pytest.fail(f"{resolved.key}: {what} {value:.2f} is below --min-pgr {threshold:g}. {figures}", pytrace=False)
        return result


def _too_few_judged(result: CaseResult, max_share: float) -> str | None:
    """Why the case's judged benchmarks do not count (items without a usable judgment for all three
    models above ``max_share``), or None. Work that ran but did not count must not pass a gate."""
    problems = []
    for b in result.benchmarks:
        if not b.judging:
            continue
        items, used = b.judging.get("items", b.items), b.judging.get("items_used", 0)
        if items and (items - used) / items > max_share:
            failed = ", ".join(f"{reason} {n}" for reason, n in b.judging.get("failed", {}).items()) or "none"
            problems.append(
                f"{b.name}: {items - used} of {items} items have no usable judgment for every model "
                f"(more than {max_share:.0%}; judgments usable {b.judging.get('usable', 0)} of "
                f"{b.judging.get('total', 0)}, failed: {failed}; judge {b.judging.get('judge')})"
            )
    if not problems:
        return None
    return "the judge's verdicts do not cover the benchmark: " + "; ".join(problems)


def _fmt(value: float | None) -> str:
    return "undefined" if value is None else f"{value:.2f}"

