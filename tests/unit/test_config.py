import os
import re
from pathlib import Path

import pytest

from pytest_agorabench.config import PROFILES, ConfigError, build_config
from pytest_agorabench.option_table import read_pyproject_table
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
        ({"min_pgr": "ten"}, "--min-pgr: expected a number, got .ten. \\(a string\\)"),
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


@pytest.mark.parametrize(
    "cli, message",
    [
        ({"min_pgr": float("nan")}, "--min-pgr: expected a finite number, got nan"),
        ({"min_pgr": float("-inf")}, "--min-pgr: expected a finite number, got -inf"),
        ({"generator": "gpt-4o", "budget_usd": float("inf")}, "--agora-budget: expected a finite number, got inf"),
        ({"generator": "gpt-4o", "budget_usd": -1.0}, "--agora-budget must be a positive number"),
        ({"instances": -3}, "--instances: must be at least 1, got -3"),
        ({"seed": -1}, "--agora-seed: must be at least 0, got -1"),
        ({"seed": 2**32}, "--agora-seed: must be at most 4294967295"),
        # A fixture override is not typed by argparse: no int(2.7).
        ({"instances": 2.7}, r"--instances: expected an integer, got 2.7 \(a float\)"),
        ({"instances": True}, r"--instances: expected an integer, got True \(a boolean\)"),
        ({"store": 5}, r"--agora-store: expected a string, got 5 \(an integer\)"),
    ],
)
def test_numbers_must_be_finite_and_in_range_and_of_their_type(cli, message):
    with pytest.raises(ConfigError, match=message):
        cfg(cli)


def test_finite_numbers_still_pass():
    c = cfg({"min_pgr": -2.5, "seed": 0, "instances": 1})
    assert (c.min_pgr, c.seed, c.instances) == (-2.5, 0, 1)
    assert cfg({"generator": "gpt-4o", "budget_usd": 3}).budget_usd == 3.0  # an int is a number


@pytest.mark.parametrize(
    "toml, message",
    [
        ("instances = 2.7", "[tool.agorabench] instances = 2.7: expected an integer, got a float"),
        ("instances = true", "[tool.agorabench] instances = true: expected an integer, got a boolean"),
        ("instances = 0", "[tool.agorabench] instances = 0: must be at least 1"),
        ("seed = 1.9", "[tool.agorabench] seed = 1.9: expected an integer, got a float"),
        ('min_pgr = "10"', '[tool.agorabench] min_pgr = "10": expected a number, got a string (write it without quotes)'),
        ("min_pgr = false", "[tool.agorabench] min_pgr = false: expected a number, got a boolean"),
        ("min_pgr = nan", "[tool.agorabench] min_pgr = nan: expected a finite number, got nan"),
        ("budget_usd = inf", "[tool.agorabench] budget_usd = inf: expected a finite number, got inf"),
        ("store = 5", '[tool.agorabench] store = 5: expected a string, got an integer (quote it: store = "5")'),
        ("json = false", "[tool.agorabench] json = false: expected a string, got a boolean"),
        ("generator = 4", '[tool.agorabench] generator = 4: expected a string, got an integer (quote it: generator = "4")'),
        ("prompts = [1]", "[tool.agorabench] prompts = [1]: expected a string, got an array"),
        ("seed_file = 1.5", "[tool.agorabench] seed_file = 1.5: expected a string, got a float"),
        ('judge = ""', "[tool.agorabench] judge is empty: name a judge model or remove the judge key"),
        ("intrinsic = 1", "[tool.agorabench] intrinsic = 1: expected a boolean (true or false), got an integer"),
        ('[tool.agorabench.min_pgr_by_setting]\n"math/response_generation" = "20"',
         '[tool.agorabench.min_pgr_by_setting] "math/response_generation" = "20": expected a finite number, got a string'),
        ('[tool.agorabench.min_pgr_by_setting]\n"math/response_generation" = nan',
         '[tool.agorabench.min_pgr_by_setting] "math/response_generation" = nan: expected a finite number, got nan'),
        ('[tool.agorabench.min_pgr_by_setting]\n"math/response_generation" = true',
         "expected a finite number, got a boolean"),
        ('[tool.agorabench.prices]\n"m/x" = { input = inf, output = 1 }', "non-negative number"),
    ],
)
def test_pyproject_values_must_have_the_option_type(tmp_path, toml, message):
    header = "" if toml.startswith("[") else "[tool.agorabench]\n"
    (tmp_path / "pyproject.toml").write_text(header + toml + "\n")
    with pytest.raises(ConfigError) as err:
        build_config({}, read_pyproject_table(tmp_path), tmp_path)
    assert message in str(err.value)


def test_a_bad_pyproject_value_fails_even_when_the_cli_overrides_it():
    with pytest.raises(ConfigError, match="instances = 2.7"):
        cfg({"instances": 5}, {"instances": 2.7})


def test_pyproject_accepts_an_int_for_a_float_option_and_a_boolean_switch():
    c = cfg(pyproject={"min_pgr": 10, "intrinsic": False})
    assert c.min_pgr == 10.0 and isinstance(c.min_pgr, float) and c.intrinsic is False


@pytest.mark.parametrize(
    "key, message",
    [
        ("judge", "--judge is empty: name a judge model or leave the option out"),
        ("generator", "--generator is empty: name a generator model or leave the option out"),
        ("student", "--student is empty: name a student model or leave the option out"),
        ("reference", "--reference is empty: name a reference (a model or 'gold') or leave the option out"),
        ("store", "--agora-store is empty: name a store directory or leave the option out"),
        ("json", "--agora-json is empty: name a report file or leave the option out"),
        ("prompts", "--agora-prompts is empty: name a prompt variant or folder or leave the option out"),
    ],
)
def test_an_empty_string_does_not_fall_back_to_the_default(key, message):
    # `--judge=` gives "": it used to run the profile's judge without a word.
    with pytest.raises(ConfigError) as err:
        cfg({key: ""})
    assert str(err.value) == message


def test_a_path_object_from_a_fixture_override_is_accepted(tmp_path):
    assert cfg({"store": tmp_path / "s"}).store_dir == tmp_path / "s"


def test_store_and_report_paths_must_be_writable_directories(tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("x")
    with pytest.raises(ConfigError, match=re.escape(f"--agora-store: cannot write {afile}: {afile} is a file, not a folder")):
        cfg({"store": str(afile)})
    with pytest.raises(ConfigError, match=re.escape(f"--agora-store: cannot write {afile}/sub/store: {afile} is a file")):
        cfg({"store": str(afile / "sub" / "store")})
    with pytest.raises(ConfigError, match=re.escape(f"--agora-json: {tmp_path} is a directory; name the report file")):
        cfg({"json": str(tmp_path)})
    with pytest.raises(ConfigError, match=re.escape(f"--agora-json: cannot write {afile}/r.json: {afile} is a file")):
        cfg({"json": str(afile / "r.json")})
    # Not yet existing paths under a writable directory are fine, and nothing is created at config time.
    c = cfg({"store": "new/store", "json": "out/r.json"}, root=tmp_path)
    assert c.store_dir == tmp_path / "new" / "store" and c.json_report == tmp_path / "out" / "r.json"
    assert not (tmp_path / "new").exists() and not (tmp_path / "out").exists()


def test_a_read_only_location_fails_at_start_up_naming_the_option(tmp_path, monkeypatch):
    # os.access stands in for a read-only mount: root (as in CI containers) may write anywhere.
    readonly = tmp_path / "ro"
    readonly.mkdir()
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: Path(p) != readonly and real_access(p, mode))
    with pytest.raises(ConfigError, match=re.escape(f"--agora-store: cannot write {readonly}/store: {readonly} is not writable")):
        cfg({"store": str(readonly / "store")})
    with pytest.raises(ConfigError, match=re.escape(f"--agora-store: cannot write {readonly}: {readonly} is not writable")):
        cfg({"store": str(readonly)})
    with pytest.raises(ConfigError, match=re.escape(f"--agora-json: cannot write {readonly}/a/r.json: {readonly} is not writable")):
        cfg({"json": str(readonly / "a" / "r.json")})


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into a read-only directory")
def test_a_really_read_only_directory_is_refused(tmp_path):
    readonly = tmp_path / "ro"
    readonly.mkdir()
    readonly.chmod(0o500)
    try:
        with pytest.raises(ConfigError, match="--agora-store: .* is not writable"):
            cfg({"store": str(readonly / "store")})
    finally:
        readonly.chmod(0o700)
