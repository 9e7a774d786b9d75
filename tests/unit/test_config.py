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
