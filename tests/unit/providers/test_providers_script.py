"""The ``agora-script`` provider: a Python callable answers requests; its errors name what went wrong."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap

import pytest
from inspect_ai.model import ChatMessageSystem, ChatMessageUser, GenerateConfig, get_model

from pytest_agorabench.providers.script_provider import ScriptModelError

SCRIPT = textwrap.dedent(
    '''
    def echo(messages, config):
        return "you said: " + messages[-1]["content"] + " [END] ignored tail"

    def truncated(messages, config):
        return {"text": "half an answer", "stop_reason": "max_tokens"}

    async def shout(messages, config):
        return messages[-1]["content"].upper() + " (t=" + str(config.get("temperature")) + ")"

    def broken(messages, config):
        raise ZeroDivisionError("no data")

    def wrong_type(messages, config):
        return 42

    def bad_reason(messages, config):
        return {"text": "x", "stop_reason": "tired"}

    class Judge:
        @staticmethod
        def grade(messages, config):
            return "GRADE: C"

    NOT_CALLABLE = 3
    '''
)


@pytest.fixture
def script(tmp_path, monkeypatch):
    (tmp_path / "agora_test_script.py").write_text(SCRIPT)
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path / "agora_test_script.py"


def _ask(model_string, prompt="hello there", config=GenerateConfig()):
    return asyncio.run(get_model(model_string, memoize=False).generate(prompt, config=config))


def test_module_function_target(script):
    out = _ask("agora-script/agora_test_script:echo")
    assert out.completion == "you said: hello there [END] ignored tail"
    assert out.stop_reason == "stop"
    # approximate usage: whitespace words of prompt and output
    assert (out.usage.input_tokens, out.usage.output_tokens, out.usage.total_tokens) == (2, 7, 9)


def test_stop_seqs_cut_the_text_like_an_api(script):
    out = _ask("agora-script/agora_test_script:echo", config=GenerateConfig(stop_seqs=["[END]"]))
    assert out.completion == "you said: hello there "
    assert out.stop_reason == "stop"


def test_dict_result_carries_stop_reason(script):
    out = _ask("agora-script/agora_test_script:truncated")
    assert (out.completion, out.stop_reason) == ("half an answer", "max_tokens")


def test_async_callable_gets_messages_and_config(script):
    messages = [ChatMessageSystem(content="sys"), ChatMessageUser(content="loud")]
    out = _ask("agora-script/agora_test_script:shout", messages, GenerateConfig(temperature=0.5))
    assert out.completion == "LOUD (t=0.5)"


def test_file_path_and_dotted_attribute(script):
    assert _ask(f"agora-script/{script}:Judge.grade").completion == "GRADE: C"


def test_user_exception_is_a_runtime_error_naming_the_callable(script):
    with pytest.raises(RuntimeError, match=r"agora_test_script:broken raised ZeroDivisionError: no data"):
        _ask("agora-script/agora_test_script:broken")


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("agora_test_script", "must look like 'package.module:function'"),
        ("no_such_module_xyz:fn", "cannot import module 'no_such_module_xyz'"),
        ("agora_test_script:nope", "has no attribute 'nope'.*echo"),
        ("agora_test_script:NOT_CALLABLE", "is a int, not callable"),
        ("/does/not/exist.py:fn", "does not exist"),
    ],
)
def test_bad_targets_are_clear(script, target, message):
    with pytest.raises(ScriptModelError, match=message):
        get_model(f"agora-script/{target}", memoize=False)


@pytest.mark.parametrize(("fn", "message"), [("wrong_type", "must return a str"), ("bad_reason", "stop_reason 'tired'")])
def test_bad_results_are_clear(script, fn, message):
    with pytest.raises(ScriptModelError, match=message):
        _ask(f"agora-script/agora_test_script:{fn}")


def test_entry_point_registers_providers_in_a_fresh_process(script):
    # inspect finds our providers through the installed `inspect_ai` entry point; importing it must stay light.
    code = textwrap.dedent(
        f"""
        import asyncio, sys
        from inspect_ai.model import get_model
        model = get_model("agora-script/{script}:echo")
        assert "pytest_agorabench.providers._registry" in sys.modules
        assert "torch" not in sys.modules and "transformers" not in sys.modules, "heavy import at registration"
        print(asyncio.run(model.generate("hi")).completion)
        """
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "you said: hi [END] ignored tail"
