import pytest

from pytest_agorabench.models import ALIASES, UnknownModelError, resolve_model, resolve_weights
from pytest_agorabench import settings
from pytest_agorabench.settings import SETTINGS, UnknownSettingError, available_settings, get_setting


def test_nine_settings_three_by_three():
    assert len(SETTINGS) == 9
    assert len({(s.domain, s.method) for s in SETTINGS}) == 9
    assert {s.id for s in available_settings("math")} == {
        "math-instance_generation",
        "math-response_generation",
        "math-quality_enhancement",
    }
    assert {s.id for s in available_settings("code")} == {
        "code-instance_generation",
        "code-response_generation",
        "code-quality_enhancement",
    }


def test_setting_lookup(monkeypatch):
    assert get_setting("math-response_generation").key == "math/response_generation"
    with pytest.raises(UnknownSettingError, match="Did you mean 'math/response_generation'"):
        get_setting("math/response_generaton")
    monkeypatch.setattr(settings, "IMPLEMENTED_DOMAINS", frozenset({settings.Domain.MATH}))
    with pytest.raises(UnknownSettingError, match="not implemented yet"):
        get_setting("code/instance_generation")


def test_only_instance_generation_trains_on_seed():
    assert [s.trains_on_seed for s in available_settings("math")] == [True, False, False]


@pytest.mark.parametrize(
    "alias, price_in, price_out",
    [
        ("gpt-4o", 2.50, 10.00),
        ("gpt-4o-mini", 0.15, 0.60),
        ("claude-3.5-sonnet", 3.00, 15.00),
        ("llama-3.1-405b", 1.79, 1.79),
        ("llama-3.1-70b", 0.35, 0.40),
        ("llama-3.1-8b", 0.055, 0.055),
    ],
)
def test_paper_generators_carry_their_prices(alias, price_in, price_out):
    spec = ALIASES[alias]
    assert (spec.usd_per_1m_input, spec.usd_per_1m_output) == (price_in, price_out)


def test_cost_arithmetic():
    # 1M input + 0.5M output on GPT-4o = 2.50 + 5.00
    assert resolve_model("gpt-4o").cost(1_000_000, 500_000) == pytest.approx(7.5)
    assert resolve_model("openai/some-new-model").cost(10, 10) is None


def test_inspect_strings_pass_and_inherit_prices():
    assert resolve_model("vllm/meta-llama/Llama-3.1-70B-Instruct").usd_per_1m_output == 0.40
    assert resolve_model("openai/gpt-5").inspect_model == "openai/gpt-5"
    with pytest.raises(UnknownModelError, match="Did you mean 'gpt-4o-mini'"):
        resolve_model("gpt4o-mini")


def test_weights_resolution():
    assert resolve_weights("llama-3.1-8b") == "meta-llama/Llama-3.1-8B-Instruct"
    assert resolve_weights("tiny") == "tiny"
    assert resolve_weights("Qwen/Qwen2.5-0.5B") == "Qwen/Qwen2.5-0.5B"
    with pytest.raises(UnknownModelError):
        resolve_weights("gpt-4o")
