"""--agora-save / --agora-compare are checked at start-up, before any case: a save that would overwrite the
baseline or an earlier saved run, a save target that cannot be written, and a baseline that is empty,
damaged, or lacks the selected settings, benchmarks or items. The inner runs' pipeline records that it ran,
so each refusal also shows that no work was done."""

import json
import os

import pytest

SUITE = '''
import pytest
from pytest_agorabench.settings import available_settings

@pytest.mark.parametrize("setting", available_settings("math"), ids=lambda s: s.id)
def test_setting(agorabench, setting):
    agorabench.case(setting)
'''

CANNED = '''
import pytest
from pathlib import Path
import pytest_agorabench.pipeline as pipeline
from pytest_agorabench.metrics.pgr import Estimate
from pytest_agorabench.result import BenchmarkOutcome, CaseResult


def canned_run_case(setting, config, store=None, servers=None, progress=None):
    (Path(str(config.store_dir)).parent / "pipeline-ran").write_text(setting.key)
    est = Estimate(point=10.0, low=5.0, high=15.0, undefined_reason=None, resamples=100)
    bench = [BenchmarkOutcome(name=n, items=2, student=20.0, base=10.0, reference=40.0, reference_source="measured",
                              pgr=est) for n in ("gsm8k", "math")]
    return CaseResult(setting=setting.key, generator=config.generator, student=config.student,
                      reference=config.reference, profile=config.profile.name, smoke=True, pgr=est,
                      benchmarks=bench, instances_requested=2, instances_valid=2, instances_dropped=0,
                      drops_by_reason={}, seed_rows=4, seed_drops={}, train_rows=4, attempts=2,
                      input_tokens=1, output_tokens=1, cost_usd=None, stage_seconds={})


@pytest.fixture(autouse=True)
def _canned(monkeypatch):
    import pytest_agorabench.preflight as preflight

    monkeypatch.setattr(pipeline, "run_case", canned_run_case)
    monkeypatch.setattr(preflight, "model_problem", lambda model, cheap_call=False: None)
'''

MATH = ("math/instance_generation", "math/response_generation", "math/quality_enhancement")


@pytest.fixture
def inner(pytester):
    pytester.makeconftest(CANNED)
    pytester.makepyfile(test_math=SUITE)
    return pytester


def _ids(name: str) -> list[str]:
    from pathlib import Path

    from pytest_agorabench.config import build_config
    from pytest_agorabench.pipeline.evaluate import benchmark_items

    return [str(i["id"]) for i in benchmark_items(name, build_config({}, {}, Path.cwd()))]


def save_baseline(folder, settings=MATH, benchmarks=("gsm8k", "math"), ids=None):
    """A saved run as --agora-save writes it, holding what the start-up checks read."""
    (folder / "cases").mkdir(parents=True, exist_ok=True)
    for key in settings:
        scores = {n: {"ids": ids if ids is not None else _ids(n), "judged": False} for n in benchmarks}
        record = {"schema": "agorabench-saved-run", "version": 1, "setting": key, "item_scores": scores}
        (folder / "cases" / f"{key.replace('/', '-')}.json").write_text(json.dumps(record))
    return folder


def _listing(folder):
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def refused(inner, *args, message):
    result = inner.runpytest(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR, result.stdout.str() + result.stderr.str()
    result.stderr.fnmatch_lines([f"ERROR: agorabench: {message}"])
    assert "Traceback" not in result.stderr.str() + result.stdout.str()
    assert not (inner.path / "pipeline-ran").exists()  # refused before any case


def test_save_and_compare_into_the_same_folder_is_refused_and_the_baseline_kept(inner):
    base = save_baseline(inner.path / ".agorabench" / "runs" / "v1")
    before = _listing(base)
    refused(inner, "--agora-save=v1", "--agora-compare=v1",
            message="--agora-save and --agora-compare both name *v1: saving would overwrite the baseline*")
    refused(inner, "--agora-save=./.agorabench/runs/v1/", "--agora-compare=v1",
            message="--agora-save and --agora-compare both name*")  # the same folder spelled otherwise
    assert _listing(base) == before


def test_an_earlier_saved_run_is_kept_without_the_explicit_word(inner):
    base = save_baseline(inner.path / ".agorabench" / "runs" / "v1")
    before = _listing(base)
    refused(inner, "--agora-save=v1", message="--agora-save: *v1 already holds a saved run; give --agora-save-overwrite*")
    assert _listing(base) == before


def test_overwrite_replaces_the_earlier_saved_run_whole(inner):
    base = save_baseline(inner.path / ".agorabench" / "runs" / "v1", settings=("code/response_generation",))
    result = inner.runpytest("--agora-save=v1", "--agora-save-overwrite", "-k", "response_generation")
    result.assert_outcomes(passed=1)
    # The old run's case this run did not redo is gone, not mixed into the new baseline.
    assert sorted(p.name for p in (base / "cases").iterdir()) == ["math-response_generation.json"]
    assert json.loads((base / "manifest.json").read_text())["cases"] == ["math-response_generation"]


def test_a_save_target_that_cannot_be_written_is_refused(inner):
    (inner.path / "a_file").write_text("x")
    refused(inner, "--agora-save=./a_file", message="--agora-save: *a_file is a file; name a folder to write into")
    refused(inner, "--agora-save=./a_file/run", message="--agora-save: cannot write *a_file/run: *a_file is a file*")
    refused(inner, "--agora-save=.", message="--agora-save: '.' is not a run name*")
    refused(inner, "--agora-save=./", message="--agora-save: * holds files that are not a saved run*")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into any folder")
def test_a_read_only_save_folder_is_refused(inner):
    locked = inner.path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        refused(inner, "--agora-save=./locked/run", message="--agora-save: cannot write *: *locked is not writable*")
    finally:
        locked.chmod(0o755)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda f: f.mkdir(), "--agora-compare: * holds no saved case*"),
        (lambda f: (f / "cases").mkdir(parents=True), "--agora-compare: * holds no saved case*"),
        (lambda f: save_baseline(f, settings=MATH[:1]), "--agora-compare: * has no case math/quality_enhancement, "
                                                        "math/response_generation (it has: math/instance_generation)*"),
        (lambda f: save_baseline(f, benchmarks=("gsm8k",)), "--agora-compare: math/instance_generation was saved "
                                                           "over benchmarks [[]'gsm8k'[]], this run uses [[]'gsm8k', 'math'[]]*"),
        (lambda f: save_baseline(f, ids=["other/1", "other/2"]), "--agora-compare: math/instance_generation's gsm8k "
                                                                 "items differ from the baseline's (2 of its 2 items*"),
    ],
    ids=["empty folder", "no case", "without this setting", "other benchmarks", "other items"],
)
def test_a_baseline_that_cannot_serve_this_run_is_refused_before_any_case(inner, make, message):
    make(inner.path / "base")
    refused(inner, "--agora-compare=./base", message=message)


@pytest.mark.parametrize("content", [b"{", bytes(range(256)), b"{}"], ids=["corrupt", "binary", "empty"])
def test_a_damaged_case_file_is_refused_before_any_case(inner, content):
    base = save_baseline(inner.path / "base")
    (base / "cases" / "math-response_generation.json").write_bytes(content)
    refused(inner, "--agora-compare=./base", message="--agora-compare: *math-response_generation.json is not a*")


def test_deselecting_the_missing_setting_lets_the_run_start(inner):
    save_baseline(inner.path / "base", settings=MATH[:1])
    result = inner.runpytest("--agora-compare=./base", "-k", "instance_generation")
    assert result.ret != pytest.ExitCode.USAGE_ERROR
    assert (inner.path / "pipeline-ran").exists()


def test_under_xdist_a_baseline_without_the_setting_fails_each_case_before_any_work(inner):
    save_baseline(inner.path / "base", settings=MATH[:1])
    result = inner.runpytest("--agora-compare=./base", "-n", "2")
    result.assert_outcomes(errors=3)
    assert "INTERNALERROR" not in result.stdout.str()
    result.stdout.fnmatch_lines(["*agorabench: --agora-compare: * has no case math/quality_enhancement*"])
    assert not (inner.path / "pipeline-ran").exists()
