"""Bad inputs through pytest's start-up path: a usage error with one sentence naming the option or variable,
no traceback, and nothing written (tests/unit/test_bad_inputs.py covers every value; these check the wiring)."""

import pytest


@pytest.fixture
def inner(pytester):
    pytester.makepyfile(test_x="def test_x():\n    pass\n")
    return pytester


def _refused(result, text):
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    err = result.stderr.str()
    assert text in err, err
    assert "Traceback" not in err and "INTERNALERROR" not in err + result.stdout.str()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("AGORABENCH_SANDBOX_WORKERS", "0"),
        ("AGORABENCH_SANDBOX", "nonsense"),
        ("AGORABENCH_VLLM_ARGS", '--chat-template "x'),
        ("AGORABENCH_SMOKE_REWARD_STEPS", "abc"),
        ("AGORABENCH_TIMEOUT_SCALE", "-1"),
        ("AGORABENCH_VLLM_START_TIMEOUT", "soon"),
    ],
)
def test_a_bad_environment_variable_stops_pytest_at_start_up(inner, monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    _refused(inner.runpytest(), f"agorabench: {name}={value!r}")


@pytest.mark.parametrize(
    ("args", "text"),
    [
        (["--agora-gpus=banana"], "--agora-gpus=banana: 'banana' is not a GPU id"),
        (["--student=./no-such-model"], "--student: the model folder"),
        (["--reference=~/no-such-model-here"], "--reference: the model folder"),
        (["--agora-json=off"], "--agora-json=off: the JSON report cannot be turned off"),
        (["--agora-structured=on", "--generator=gpt-4o"],
         "--agora-structured=on: the openai backend of openai/gpt-4o-2024-08-06 takes a JSON schema only"),
        (["--agora-structured=on", "--generator=mockllm/model"], "--agora-structured=on: the mockllm backend"),
    ],
)
def test_a_bad_option_stops_pytest_at_start_up(inner, args, text):
    _refused(inner.runpytest(*args), text)


def test_gpus_named_on_a_machine_without_gpus_are_refused(inner, monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    _refused(inner.runpytest("--agora-gpus=7"), "--agora-gpus=7 names GPUs, but none is visible")


def test_a_bad_display_option_is_refused_by_name(inner):
    result = inner.runpytest("--agora-progress=loud")
    assert result.ret == pytest.ExitCode.USAGE_ERROR and "--agora-progress" in result.stderr.str()


def test_a_pyproject_boolean_in_quotes_is_refused(inner):
    inner.makefile(".toml", pyproject='[tool.agorabench]\nintrinsic = "no"\n')
    _refused(inner.runpytest(), '[tool.agorabench] intrinsic = "no": expected a boolean (true or false)')


def test_tilde_and_off_write_no_folder_named_tilde_and_no_file_named_off(inner, monkeypatch, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    inner.makefile(".toml", pyproject='[tool.agorabench]\nstore = "~/agora-store"\n')
    result = inner.runpytest("--agora-md=off", "--agora-html=none", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.OK
    assert not (inner.path / "~").exists() and not (inner.path / "off").exists() and not (inner.path / "none").exists()
