"""One bad value for every option, pyproject key and environment variable of ours (issue 19): each must be
refused at start-up by a ConfigError / EnvironmentVariableError whose message names it, and write nothing.
The tables are checked against OPTIONS, OPTION_KEYS and environment.VARIABLES, so a new option or variable
without a row fails here."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from pytest_agorabench import environment
from pytest_agorabench.config import ConfigError, build_config
from pytest_agorabench.option_table import OPTION_KEYS, OPTIONS, TABLE_KEYS, read_pyproject_table
from pytest_agorabench.environment import VARIABLES, EnvironmentVariableError, validate

ROOT = Path(__file__).resolve().parents[2]


def _snapshot(folder: Path) -> set[Path]:
    return set(folder.rglob("*"))


# --------------------------------------------------------------------------------------------- options

def _cli_cases(tmp: Path) -> dict[str, tuple[object, str]]:
    """key -> (a bad value as argparse or a fixture override would pass it, text the message must hold)."""
    a_file = tmp / "a-file.txt"
    a_file.write_text("x")
    return {
        "generator": ("no-such-model", "--generator"),
        "student": (str(tmp / "missing-student"), "--student"),
        "reference": ("./missing-reference", "--reference"),
        "judge": ("", "--judge"),
        "instances": (0, "--instances"),
        "min_pgr": (float("nan"), "--min-pgr"),
        "profile": ("fast", "--agora-profile"),
        "json": ("off", "--agora-json"),
        "html": (str(tmp), "--agora-html"),
        "md": (str(a_file / "t.md"), "--agora-md"),
        "store": (str(a_file), "--agora-store"),
        "gate_on": ("mean", "--agora-gate"),
        "seed": (-1, "--agora-seed"),
        "demo_mix": ("mixed", "--agora-demo-mix"),
        "seed_file": (str(tmp / "missing.jsonl"), "--agora-seed-file"),
        "benchmark_dir": (str(a_file), "--agora-benchmark-dir"),
        "intrinsic": ("no", "--agora-intrinsic"),
        "structured": ("yes", "--agora-structured"),
        "prices_file": (str(tmp / "missing-prices.json"), "--agora-prices"),
        "budget_usd": (-1.0, "--agora-budget"),
        "gpus": ("banana", "--agora-gpus"),
        "gpus_per_worker": (0, "--agora-gpus-per-worker"),
        "generator_gpus": (-1, "--agora-generator-gpus"),
        "ray": ("", "--agora-ray"),
        "save": ("", "--agora-save"),
        "compare": ("", "--agora-compare"),
        "max_drop": (-5.0, "--agora-max-drop"),
        "max_failures": (5.0, "--agora-max-failures"),
        "repeats": (0, "--agora-repeats"),
        "train_seed": (-1, "--agora-train-seed"),
        "prompts": ("no-such-variant", "--agora-prompts"),
        "sizes": ("40,20", "--agora-sizes"),
        "decontaminate": ("remove", "--agora-decontaminate"),
        "max_contamination": (1.5, "--agora-max-contamination"),
    }


def test_every_option_has_a_bad_value_in_the_table(tmp_path):
    assert set(_cli_cases(tmp_path)) == set(OPTION_KEYS)


@pytest.mark.parametrize("key", OPTION_KEYS)
def test_a_bad_option_value_is_refused_naming_the_option(tmp_path, key):
    root = tmp_path / "root"
    root.mkdir()
    value, name = _cli_cases(tmp_path)[key]
    cli = {key: value}
    if key == "max_drop":
        cli["compare"] = "baseline"
    before = _snapshot(tmp_path)
    with pytest.raises(ConfigError) as err:
        build_config(cli, {}, root)
    assert name in str(err.value)
    assert "\n" not in str(err.value).strip()
    assert _snapshot(tmp_path) == before  # nothing written: no "off" report, no store, no folder


# ------------------------------------------------------------------------------------------- pyproject

def _bad_toml(key: str) -> str:
    """A value of the wrong TOML type for ``key``: a string for a number, a quoted word for a boolean, a
    number for a string."""
    option = next(o for o in OPTIONS if o.key == key)
    if option.type in (int, float):
        return '"5"'
    if option.switch:
        return '"no"'
    return "5"


@pytest.mark.parametrize("key", OPTION_KEYS)
def test_a_pyproject_value_of_the_wrong_type_is_refused_naming_the_key(tmp_path, key):
    (tmp_path / "pyproject.toml").write_text(f"[tool.agorabench]\n{key} = {_bad_toml(key)}\n")
    with pytest.raises(ConfigError) as err:
        build_config({}, read_pyproject_table(tmp_path), tmp_path)
    assert f"[tool.agorabench] {key} = " in str(err.value)


@pytest.mark.parametrize(
    ("toml", "name"),
    [
        ("[tool.agorabench.min_pgr_by_setting]\nmath = 5\n", "min_pgr_by_setting"),
        ('[tool.agorabench.prices]\n"gpt-4o" = { input = -1, output = 1 }\n', "[tool.agorabench.prices]"),
    ],
)
def test_the_pyproject_tables_are_checked(tmp_path, toml, name):
    assert {"min_pgr_by_setting", "prices"} == TABLE_KEYS
    (tmp_path / "pyproject.toml").write_text(toml)
    with pytest.raises(ConfigError) as err:
        build_config({}, read_pyproject_table(tmp_path), tmp_path)
    assert name in str(err.value)


def test_intrinsic_in_pyproject_must_be_a_toml_boolean(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.agorabench]\nintrinsic = "no"\n')
    with pytest.raises(ConfigError, match=r'intrinsic = "no": expected a boolean \(true or false\), got a string'):
        build_config({}, read_pyproject_table(tmp_path), tmp_path)
    (tmp_path / "pyproject.toml").write_text("[tool.agorabench]\nintrinsic = false\n")
    assert build_config({}, read_pyproject_table(tmp_path), tmp_path).intrinsic is False


def test_both_spellings_of_one_key_are_refused(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.agorabench]\ndemo-mix = "official"\ndemo_mix = "intended"\n')
    with pytest.raises(ConfigError, match="sets both demo-mix and demo_mix, which are the same key; keep one"):
        read_pyproject_table(tmp_path)


# ------------------------------------------------------------------------------------------ paths

@pytest.fixture
def home(tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    return home


def test_tilde_expands_in_every_path_option_and_no_tilde_folder_is_made(tmp_path, home):
    root = tmp_path / "root"
    root.mkdir()
    (home / "seeds.jsonl").write_text('{"instruction": "1+1?", "response": "2"}\n')
    (home / "bench").mkdir()
    (home / "prices.json").write_text(json.dumps({"gpt-4o": {"input": 1, "output": 2}}))
    (root / "pyproject.toml").write_text('[tool.agorabench]\nstore = "~/agora-store"\n')
    cli = {"json": "~/r.json", "html": "~/r.html", "md": "~/r.md", "seed_file": "~/seeds.jsonl",
           "benchmark_dir": "~/bench", "prices_file": "~/prices.json"}
    config = build_config(cli, read_pyproject_table(root), root)
    assert config.store_dir == home / "agora-store"
    assert (config.json_report, config.html_report, config.md_report) == (home / "r.json", home / "r.html", home / "r.md")
    assert (config.seed_file, config.benchmark_dir) == (home / "seeds.jsonl", home / "bench")
    assert config.prices["gpt-4o"] == (1.0, 2.0)
    assert not (root / "~").exists()


def test_relative_paths_resolve_against_the_rootdir(tmp_path, monkeypatch):
    root = tmp_path / "root"
    (root / "data").mkdir(parents=True)
    (root / "data" / "seeds.jsonl").write_text('{"instruction": "1+1?", "response": "2"}\n')
    monkeypatch.chdir(tmp_path)  # not the rootdir: the working directory must not matter
    config = build_config({"store": "st", "md": "out/t.md", "seed_file": "data/seeds.jsonl"}, {}, root)
    assert (config.store_dir, config.md_report, config.seed_file) == (root / "st", root / "out/t.md", root / "data/seeds.jsonl")


@pytest.mark.parametrize("word", ["off", "none", "FALSE"])
def test_off_words_turn_the_markdown_and_html_reports_off(tmp_path, word):
    config = build_config({"md": word, "html": word}, {}, tmp_path)
    assert config.md_report is None and config.html_report is None and config.html_off
    assert not (tmp_path / word).exists()


@pytest.mark.parametrize("flag", ["student", "reference"])
def test_a_missing_model_folder_is_refused_at_start_up(tmp_path, home, flag):
    for value in ("~/no-model", str(tmp_path / "no-model"), "./no-model", "a/b/c"):
        with pytest.raises(ConfigError, match=f"--{flag}: the model folder .* is missing"):
            build_config({flag: value}, {}, tmp_path)
    (home / "model").mkdir()
    config = build_config({flag: "~/model"}, {}, tmp_path)
    assert getattr(config, flag) == str(home / "model")
    assert getattr(build_config({flag: "org/name"}, {}, tmp_path), flag) == "org/name"  # a hub id stays


# --------------------------------------------------------------------------------- gpus and budget

@pytest.mark.parametrize("value", ["banana", "0,,1", "0;1", "gpu0"])
def test_a_gpu_list_must_be_ids(tmp_path, value):
    with pytest.raises(ConfigError, match=f"--agora-gpus={value}: .* is not a GPU id"):
        build_config({"gpus": value}, {}, tmp_path)


def test_gpu_ids_and_uuids_are_accepted(tmp_path):
    assert build_config({"gpus": "0, 3"}, {}, tmp_path).gpus == "0,3"
    assert build_config({"gpus": "GPU-8f2e1c4a-1b2c"}, {}, tmp_path).gpus == "GPU-8f2e1c4a-1b2c"
    assert build_config({"gpus": "all"}, {}, tmp_path).gpus == "all"


def test_a_budget_that_buys_nothing_is_refused_before_the_pilot(tmp_path):
    with pytest.raises(ConfigError, match=r"--agora-budget=1e-09 USD buys nothing: one call to gpt-4o sends at least"):
        build_config({"generator": "gpt-4o", "budget_usd": 1e-9}, {}, tmp_path)
    assert build_config({"generator": "gpt-4o", "budget_usd": 0.5}, {}, tmp_path).budget_usd == 0.5


# ---------------------------------------------------------------------------- environment variables

def _env_cases(tmp: Path) -> dict[str, list[str]]:
    a_file = tmp / "a-file"
    a_file.write_text("x")
    return {
        "AGORABENCH_CPU_SHARE": ["0", "two"],
        "AGORABENCH_EMBEDDER": [str(tmp / "missing-embedder"), "minilm"],
        "AGORABENCH_HOST_ID": ["node/1", "../up", "-starts-with-a-dash", "a" * 64, "node 1"],
        "AGORABENCH_MODEL_CACHE": [str(a_file), str(a_file / "below")],
        "AGORABENCH_SANDBOX": ["nonsense", "local"],
        "AGORABENCH_SANDBOX_DROP_ROOT": ["no", "false"],
        "AGORABENCH_SANDBOX_NETNS": ["off"],
        "AGORABENCH_SANDBOX_PYTHON": [str(a_file), str(tmp / "missing-python"), "no-such-command-xyz"],
        "AGORABENCH_SANDBOX_WORKERS": ["0", "-2", "many", "1.5"],
        "AGORABENCH_SMOKE_REWARD_STEPS": ["abc", "0"],
        "AGORABENCH_TIMEOUT_SCALE": ["-1", "abc", "0", "inf", "nan"],
        "AGORABENCH_VLLM_ARGS": ['--chat-template "unbalanced', "trailing\\"],
        "AGORABENCH_VLLM_PYTHON": [str(a_file), str(tmp / "no-venv" / "python")],
        "AGORABENCH_VLLM_START_TIMEOUT": ["soon", "-5"],
    }


def test_every_variable_has_bad_values_in_the_table(tmp_path):
    assert set(_env_cases(tmp_path)) == {v.name for v in VARIABLES}


@pytest.mark.parametrize("name", [v.name for v in VARIABLES])
def test_a_bad_environment_variable_is_refused_naming_it(tmp_path, name):
    for value in _env_cases(tmp_path)[name]:
        with pytest.raises(EnvironmentVariableError) as err:
            validate({name: value})
        message = str(err.value)
        assert message.startswith(f"{name}={value!r} ") and "unset it" in message, message
        assert "\n" not in message


def test_the_typed_accessors_read_good_values_and_defaults(tmp_path, monkeypatch):
    python = str(Path(__import__("sys").executable))
    good = {
        "AGORABENCH_SANDBOX_WORKERS": "3", "AGORABENCH_TIMEOUT_SCALE": "0.5", "AGORABENCH_VLLM_ARGS": "--dtype 'float 32'",
        "AGORABENCH_SANDBOX": "docker:compose.yaml", "AGORABENCH_SANDBOX_NETNS": "0", "AGORABENCH_EMBEDDER": str(tmp_path),
        "AGORABENCH_MODEL_CACHE": str(tmp_path / "new" / "cache"), "AGORABENCH_VLLM_PYTHON": python,
        "AGORABENCH_SANDBOX_PYTHON": "python3", "AGORABENCH_VLLM_START_TIMEOUT": "60", "AGORABENCH_WHEEL_TEST": "1",
    }
    validate(good)
    assert environment.SANDBOX_WORKERS.get(good) == 3 and environment.TIMEOUT_SCALE.get(good) == 0.5
    assert environment.VLLM_ARGS.get(good) == ["--dtype", "float 32"]
    assert environment.SANDBOX.get(good) == ("docker", "compose.yaml") and environment.SANDBOX_NETNS.get(good) is False
    assert environment.MODEL_CACHE.get(good) == tmp_path / "new" / "cache" and not (tmp_path / "new").exists()
    # Unset and empty read the same: the default.
    for env in ({}, {"AGORABENCH_SANDBOX_WORKERS": "", "AGORABENCH_VLLM_START_TIMEOUT": " "}):
        assert environment.SANDBOX_WORKERS.get(env) is None and environment.VLLM_START_TIMEOUT.get(env) == 900.0
        assert environment.SANDBOX.get(env) == ("agora", None) and environment.SANDBOX_DROP_ROOT.get(env) is True


def test_a_misspelled_variable_is_refused_with_the_right_name():
    with pytest.raises(EnvironmentVariableError, match="AGORABENCH_SANDBOX_WORKER is not a variable .* did you mean AGORABENCH_SANDBOX_WORKERS"):
        validate({"AGORABENCH_SANDBOX_WORKER": "2"})
    validate({"AGORABENCH_SOMETHING_ELSE_ENTIRELY": "x"})  # not a near miss of ours: another tool's


def test_every_problem_is_reported_at_once():
    with pytest.raises(EnvironmentVariableError) as err:
        validate({"AGORABENCH_SANDBOX_WORKERS": "0", "AGORABENCH_TIMEOUT_SCALE": "abc"})
    assert "AGORABENCH_SANDBOX_WORKERS='0'" in str(err.value) and "AGORABENCH_TIMEOUT_SCALE='abc'" in str(err.value)


def test_the_declarations_match_the_code_that_uses_them():
    from pytest_agorabench.intrinsic.embeddings import EMBEDDERS
    from pytest_agorabench.intrinsic.measure import DEFAULT_EMBEDDER
    from pytest_agorabench.intrinsic.smoke_reward import DEFAULT_STEPS

    assert set(environment.EMBEDDER_NAMES) == set(EMBEDDERS) and environment.EMBEDDER.unset == DEFAULT_EMBEDDER
    assert environment.SMOKE_REWARD_STEPS.unset == DEFAULT_STEPS


def test_no_module_reads_an_agorabench_variable_behind_the_declarations():
    offenders = []
    for path in (ROOT / "pytest_agorabench").rglob("*.py"):
        if path.name == "environment.py":
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            reads = re.search(r"(environ\.get|environ\[|getenv)\(?\s*([\w.\"]+)", line)
            if reads and ("AGORABENCH_" in reads.group(2) or reads.group(2).endswith("_ENV")):
                offenders.append(f"{path.name}:{number}: {line.strip()}")
    assert offenders == []


def test_the_readme_lists_every_variable():
    assert environment.markdown_table() in (ROOT / "README.md").read_text()


# ------------------------------------------------------------------------------- files and seeds

def test_a_non_utf8_system_file_in_a_prompt_folder_names_the_file(tmp_path):
    from pytest_agorabench.generation.prompts.folder import file_name
    from pytest_agorabench.settings import get_setting

    folder = tmp_path / "prompts"
    folder.mkdir()
    (folder / file_name(get_setting("math/response_generation"))).write_text("Solve: <input>\n")
    (folder / "system.txt").write_bytes(b"\xff\xfe caf\xe9")
    with pytest.raises(ConfigError, match=r"--agora-prompts: .*system.txt: cannot read it as UTF-8 text"):
        build_config({"prompts": str(folder)}, {}, tmp_path)


def _seed_file(tmp_path, rows):
    path = tmp_path / "seeds.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_a_huge_seed_row_is_dropped_and_counted(tmp_path):
    from pytest_agorabench.seeds import MAX_SEED_CHARS, TOO_LONG, load_seeds
    from pytest_agorabench.settings import get_setting

    rows = [{"instruction": f"{i}+1?", "response": str(i + 1)} for i in range(3)]
    rows.append({"instruction": "x" * (5 * 1024 * 1024), "response": "y"})
    seeds = load_seeds(get_setting("math/response_generation"), seed_file=_seed_file(tmp_path, rows))
    assert len(seeds) == 3 and seeds.drops == {TOO_LONG: 1} and MAX_SEED_CHARS < 5 * 1024 * 1024


def test_instance_generation_with_too_few_seed_rows_is_a_clear_error(tmp_path):
    from pytest_agorabench.seeds import SeedError, load_seeds
    from pytest_agorabench.settings import get_setting

    path = _seed_file(tmp_path, [{"instruction": "1+1?", "response": "2"}])
    with pytest.raises(SeedError, match=r"math/instance_generation needs at least 3 seed rows .* gave 1"):
        load_seeds(get_setting("math/instance_generation"), seed_file=path)
    assert len(load_seeds(get_setting("math/response_generation"), seed_file=path)) == 1


def test_seed_rows_capping_the_instances_is_a_notice_in_the_terminal(tmp_path):
    from pytest_agorabench.generation.runner import cap_notice
    from pytest_agorabench.report.terminal import summary_lines
    from pytest_agorabench.settings import get_setting

    rg, ig = get_setting("math/response_generation"), get_setting("math/instance_generation")
    notice = cap_notice(rg, 80, 500)
    assert notice == ("500 instances asked, 80 generated: response_generation writes one instance per seed row "
                      "and there are 80")
    assert cap_notice(rg, 80, 80) is None and cap_notice(ig, 80, 500) is None
    case = {"setting": rg.key, "outcome": "passed", "benchmarks": [], "cost_usd": None, "cached_stages": [],
            "instances_valid": 80, "instances_requested": 80, "notices": [notice],
            "pgr": {"point": None, "low": None, "high": None, "undefined_reason": None}}
    lines = summary_lines([case], {"generator_score": None, "cells_defined": 0, "cells": 1})
    assert f"  {rg.key}: {notice}" in lines
