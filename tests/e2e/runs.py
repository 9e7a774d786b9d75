"""Helpers for the end-to-end tests: inner pytest runs of suites/test_math.py and store lookups."""

import json
import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).with_name("scripted.py")
SUITE = REPO / "suites" / "test_math.py"


def run_suite(pytester, store: Path, *args: str, generator: str = "arithmetic", **env: str):
    """`pytest test_math.py` in a subprocess (the plugin loads from its entry point, as for users)."""
    shutil.copy(SUITE, pytester.path / "test_math.py")
    for name in ("AGORA_TEST_COUNTER", "AGORA_TEST_DIE_AFTER"):
        if name in env:
            pytester._monkeypatch.setenv(name, env[name])
        else:
            pytester._monkeypatch.delenv(name, raising=False)
    return pytester.runpytest_subprocess(
        f"--generator=agora-script/{SCRIPT}:{generator}",
        f"--judge=agora-script/{SCRIPT}:grader",
        f"--agora-store={store}",
        "--instances=4",  # the machinery at a fixed size; the smoke default is chosen in bench/smoke_instances.py
        "-p",
        "no:cacheprovider",
        *args,
        timeout=900,
    )


def generated_rows(store: Path, case: dict) -> list[dict]:
    key = case["artifacts"]["generation"]
    path = store / "artifacts" / "generation" / key[:2] / key / "rows.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]
