"""The real pipeline's progress: the session's math run (not a terminal) shows each case's stages and its
generation counts as plain lines."""

import re


def test_a_real_run_prints_stages_and_generation_counts(math_run):
    out = math_run["stdout"]
    for setting in ("instance_generation", "response_generation", "quality_enhancement"):
        name = f"agorabench math/{setting}"
        for stage in ("seeds", "generation", "student_init", "training", "evaluation (gsm8k)"):
            assert f"{name}: {stage}\n" in out, (stage, out)
        assert re.search(rf"{name}: generation done in \d+:\d\d, instances (\d+)/\1, \d+ dropped\n", out), out
        assert re.search(rf"{name}: finished in \d+:\d\d\n", out), out
