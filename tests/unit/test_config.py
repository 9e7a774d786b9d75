from pathlib import Path

import pytest

from pytest_agorabench.config import PROFILES, ConfigError, build_config, read_pyproject_table
from pytest_agorabench.settings import get_setting


def cfg(cli=None, pyproject=None, root=Path("/tmp")):
    return build_config(cli or {}, pyproject or {}, root)


def test_smoke_is_the_default_profile():
    c = cfg()
    assert c.profile.name == "smoke"
    assert c.generator == "smollm2-135m"
    assert c.student == "tiny" and c.reference == "gold"
    assert c.store_dir == Path("/tmp/.agorabench")


def test_cli_wins_over_pyproject_wins_over_profile():
    c = cfg({"instances": 7}, {"instances": 3, "generator": "gpt-4o-mini"})
    assert c.instances == 7 and c.generator == "gpt-4o-mini"


def test_paper_profile_needs_a_generator():
    with pytest.raises(ConfigError, match="needs --generator"):
        cfg({"profile": "paper"})


@pytest.mark.parametrize(
    "cli, message",
    [
        ({"profile": "fast"}, "choose from paper, quick, smoke"),
        ({"generator": "llama-70b"}, "Did you mean"),
        ({"instances": 0}, "at least 1"),
        ({"min_pgr": "ten"}, "must be a number"),
        ({"gate_on": "mean"}, "choose from point, low"),
        ({"student": "bert"}, "unknown student"),
    ],
)
def test_bad_values_name_the_valid_choices(cli, message):
    with pytest.raises(ConfigError, match=message):
        cfg(cli)


def test_per_setting_thresholds_from_pyproject(tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        '[tool.agorabench]\nmin-pgr = 5\n[tool.agorabench.min_pgr_by_setting]\n"math/response_generation" = 20\n'
    )
    c = build_config({}, read_pyproject_table(tmp_path), tmp_path)
    assert c.threshold_for(get_setting("math/response_generation")) == 20
    assert c.threshold_for(get_setting("math/instance_generation")) == 5


def test_unknown_pyproject_key_and_setting_are_errors(tmp_path):
    with pytest.raises(ConfigError, match="unknown keys"):
        cfg(pyproject={"generatr": "x"})
    with pytest.raises(ConfigError, match="unknown setting"):
        cfg(pyproject={"min_pgr_by_setting": {"math/foo": 1}})


def test_bad_toml_is_a_config_error(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[tool.agorabench\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        read_pyproject_table(tmp_path)


def test_missing_seed_file_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        cfg({"seed_file": str(tmp_path / "nope.jsonl")})


def test_paper_profile_follows_the_protocol():
    p = PROFILES["paper"]
    assert p.instances == 10_000 and p.generation_max_tokens == 4096 and p.max_attempts == 10
    assert p.eval_max_tokens == 1024 and p.student == "meta-llama/Llama-3.1-8B"


def test_prompts_option_takes_a_variant_or_a_checked_folder(tmp_path):
    assert cfg().prompts == "agorabench"
    assert cfg({"prompts": "json"}).prompts == "json"
    folder = tmp_path / "my_prompts"
    folder.mkdir()
    (folder / "math_response_generation.txt").write_text("Solve: <input>\nOUTPUT: ")
    assert cfg({"prompts": "my_prompts"}, root=tmp_path).prompts == str(folder)  # relative to the rootdir
    with pytest.raises(ConfigError, match="neither a prompt variant"):
        cfg({"prompts": "jsn"}, root=tmp_path)
    (folder / "math_response_generation.txt").write_text("Solve it.")
    with pytest.raises(ConfigError, match="missing placeholder"):
        cfg({"prompts": str(folder)})


def test_prices_from_pyproject_and_file_file_wins(tmp_path):
    (tmp_path / "prices.json").write_text('{"vllm/acme/gen": {"input": 0.3, "output": 0.4}}')
    c = cfg(
        {"prices_file": "prices.json"},
        {"prices": {"vllm/acme/gen": {"input": 9, "output": 9}, "gpt-4o": {"input": 1, "output": 2}}},
        root=tmp_path,
    )
    assert c.prices == {"vllm/acme/gen": (0.3, 0.4), "gpt-4o": (1.0, 2.0)}
    with pytest.raises(ConfigError, match="unknown model alias 'gpt4o'"):
        cfg({}, {"prices": {"gpt4o": {"input": 1, "output": 2}}})
    with pytest.raises(ConfigError, match="non-negative"):
        cfg({}, {"prices": {"m/x": {"input": -1, "output": 2}}})


def test_budget_needs_a_priced_generator_and_caps_only_with_explicit_instances():
    c = cfg({"generator": "gpt-4o-mini", "budget_usd": 2.5})
    assert c.budget_usd == 2.5 and c.budget_cap is None
    assert cfg({"generator": "gpt-4o-mini", "budget_usd": 2.5, "instances": 50}).budget_cap == 50
    with pytest.raises(ConfigError, match="is free"):
        cfg({"budget_usd": 1})  # smoke's SmolLM2 costs nothing
    with pytest.raises(ConfigError, match="has no price"):
        cfg({"generator": "vllm/acme/gen", "budget_usd": 1})
    assert cfg({"generator": "vllm/acme/gen", "budget_usd": 1}, {"prices": {"vllm/acme/gen": {"input": 1, "output": 1}}}).budget_usd == 1
    with pytest.raises(ConfigError, match="positive"):
        cfg({"generator": "gpt-4o", "budget_usd": 0})
