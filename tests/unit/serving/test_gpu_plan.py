"""The GPU plan: groups for the generator and the workers, refused with the plan when it does not fit, and
each xdist worker (and its training subprocess) pinned to its group, shown without a GPU."""

import json
import re
import textwrap

import pytest

from pytest_agorabench.serving.gpu_plan import GpuPlanError, make_plan, visible_gpus

EIGHT = tuple(str(i) for i in range(8))


def test_generator_group_then_one_group_per_worker():
    plan = make_plan(EIGHT, workers=3, generator_gpus=2, gpus_per_worker=2)
    assert plan.generator == ("0", "1")
    assert plan.workers == (("2", "3"), ("4", "5"), ("6", "7"))
    assert plan.describe() == "GPUs 0,1,2,3,4,5,6,7; generator 0,1 (tensor parallel 2); gw0 2,3; gw1 4,5; gw2 6,7"


def test_by_default_the_rest_is_split_evenly_over_the_workers():
    assert make_plan(EIGHT, workers=2, generator_gpus=4).workers == (("4", "5"), ("6", "7"))
    assert make_plan(EIGHT, workers=1).workers == (EIGHT,)
    assert make_plan(EIGHT, workers=2, gpus="1,3").workers == (("1",), ("3",))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"workers": 3, "generator_gpus": 4, "gpus_per_worker": 2}, "generator 4 + 3 worker(s) x 2 = 10"),
        ({"workers": 9}, "generator 0 + 9 worker(s) x 0 = 0"),
        ({"workers": 2, "gpus": "0,9"}, "GPU(s) 9 that are not visible"),
        ({"workers": 2, "gpus": "0,0"}, "lists a GPU twice"),
    ],
)
def test_a_plan_that_does_not_fit_is_refused_with_the_plan(kwargs, message):
    with pytest.raises(GpuPlanError, match=re.escape(message)):
        make_plan(EIGHT, **kwargs)


def test_no_gpus_means_no_plan_and_asking_for_some_is_an_error():
    assert make_plan((), workers=4).empty
    with pytest.raises(GpuPlanError, match="--agora-gpus=7 names GPUs, but none is visible"):
        make_plan((), workers=1, gpus="7")
    with pytest.raises(GpuPlanError, match="none is visible"):
        make_plan((), workers=1, gpus_per_worker=1)


def test_visible_gpus_reads_the_environment_first():
    assert visible_gpus({"CUDA_VISIBLE_DEVICES": "2, 5"}) == ("2", "5")
    assert visible_gpus({"CUDA_VISIBLE_DEVICES": ""}) == ()


PROBE = textwrap.dedent(
    '''
    import json, os, subprocess, sys

    def test_where_am_i(tmp_path_factory):
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        # What a training subprocess sees: training/launch.py starts it with this process's environment.
        child = subprocess.run([sys.executable, "-c", "import os; print(os.environ.get('CUDA_VISIBLE_DEVICES'))"],
                               capture_output=True, text=True, env=os.environ.copy()).stdout.strip()
        out = os.path.join(os.environ["PROBE_DIR"], worker + ".json")
        with open(out, "w") as fh:
            json.dump({"self": os.environ.get("CUDA_VISIBLE_DEVICES"), "child": child}, fh)
    '''
)


def test_each_worker_and_its_subprocess_see_only_their_group(pytester, tmp_path):
    pytester.makepyfile(test_probe_a=PROBE, test_probe_b=PROBE.replace("test_where_am_i", "test_where_else"))
    pytester._monkeypatch.setenv("PROBE_DIR", str(tmp_path))
    # Five GPUs as the plan sees them on a machine without any: --agora-gpus may only name visible ones.
    pytester._monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1,2,3,4")
    result = pytester.runpytest_subprocess(
        "-n", "2", "--dist=loadfile", "--agora-gpus=0,1,2,3,4", "--agora-generator-gpus=1", "-p", "no:cacheprovider"
    )
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*agorabench GPU plan: GPUs 0,1,2,3,4; generator 0 (tensor parallel 1); gw0 1,2; gw1 3,4*"])
    seen = {p.stem: json.loads(p.read_text()) for p in tmp_path.glob("gw*.json")}
    assert seen == {"gw0": {"self": "1,2", "child": "1,2"}, "gw1": {"self": "3,4", "child": "3,4"}}


def test_a_plan_that_does_not_fit_stops_the_run_and_shows_it(pytester):
    pytester.makepyfile(test_x="def test_x():\n    pass\n")
    pytester._monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1")
    result = pytester.runpytest_subprocess("-n", "3", "--agora-gpus=0,1", "--agora-gpus-per-worker=1",
                                           "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*the GPU plan does not fit: 2 GPU(s) (0,1): generator 0 + 3 worker(s) x 1 = 3*"])
    assert "Traceback" not in result.stderr.str()
