"""The run options, once: each option's flag, key, help and bounds (``OPTIONS``; the plugin adds these flags
and build_config reads these keys from pyproject), the ``[tool.agorabench]`` table as read from
pyproject.toml, and the type and bound check every value passes before config.py builds a RunConfig."""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomllib

from pytest_agorabench.path_options import RULE, ConfigError
from pytest_agorabench.profiles import PROFILES

DEMO_MIXES = ("intended", "official")  # AGORABENCH.md 2.2: 2 seed + 1 generated, or the official aliasing
GATES = ("point", "low")  # compare --min-pgr with the PGR point value or the interval's lower end
DECONTAMINATE = ("report", "drop")  # contaminated generated rows: reported only, or also left out of training
TABLE_KEYS = {"min_pgr_by_setting", "prices"}  # pyproject tables that have no command-line option


@dataclass(frozen=True)
class Option:
    """One run option: its command-line flag and its RunConfig / ``[tool.agorabench]`` key (dashes or
    underscores in pyproject).

    ``type`` int/float: a number (argparse converts the flag; pyproject must hold that TOML type); None: a
    string, or on/off-or-boolean when ``switch``. ``what`` names the expected value in the error for an
    empty string; ``at_least``/``at_most`` bound a number.
    """

    flag: str
    key: str
    help: str
    type: type | None = None
    choices: tuple[str, ...] | None = None
    what: str = "a value"
    at_least: int | None = None
    at_most: int | None = None
    switch: bool = False

    def argparse(self) -> dict[str, Any]:
        out: dict[str, Any] = {"help": self.help}
        if self.type is not None:
            out["type"] = self.type
        if self.choices is not None:
            out["choices"] = list(self.choices)
        return out


# Every option, once: the plugin adds these flags and build_config reads these keys from pyproject.
OPTIONS: tuple[Option, ...] = (
    Option("--generator", "generator", "data-generating LM: an alias (gpt-4o, llama-3.1-70b, smollm2-135m, ...) or an inspect model string", what="a generator model"),
    Option("--student", "student", f"student weights to fine-tune: tiny, smollm2-135m, a hub id or a local folder ({RULE})", what="a student model"),
    Option("--reference", "reference", f"reference S_ref: weights (hub id / local folder; {RULE}) or 'gold' = the student trained on the seed data", what="a reference (a model or 'gold')"),
    Option("--judge", "judge", "judge LM (alias or inspect model string)", what="a judge model"),
    Option("--instances", "instances", "instances to generate per setting", type=int, at_least=1),
    Option("--min-pgr", "min_pgr", "fail a case whose PGR is below this (per setting: [tool.agorabench.min_pgr_by_setting])", type=float),
    Option("--agora-profile", "profile", "paper / quick / smoke (default: smoke)", choices=tuple(PROFILES), what="a profile"),
    Option("--agora-json", "json", f"write the JSON report here (default: <store>/report.json; {RULE})", what="a report file"),
    Option("--agora-html", "html", f"write the HTML report here (default: next to the JSON report, .html; off/none/false: none; {RULE})", what="a report file"),
    Option("--agora-md", "md", f"write Table 2 as Markdown here, e.g. for $GITHUB_STEP_SUMMARY (default and off/none/false: none; {RULE})", what="a report file"),
    Option("--agora-store", "store", f"artifact store directory (default: .agorabench in the rootdir; {RULE})", what="a store directory"),
    Option("--agora-gate", "gate_on", "gate --min-pgr on the PGR point value or the 95%% CI lower bound", choices=tuple(GATES), what="a gate"),
    # numpy's seeding (bootstrap, win rates) takes 0 .. 2**32 - 1 and raises on anything else.
    Option("--agora-seed", "seed", "random seed (default 42)", type=int, at_least=0, at_most=2**32 - 1),
    Option("--agora-demo-mix", "demo_mix", "instance-generation demonstrations: intended (2 seed + 1 generated) or official", choices=tuple(DEMO_MIXES), what="a demo mix"),
    Option("--agora-seed-file", "seed_file", f"a local seed file or folder (JSON/JSONL/Parquet with instruction, response; {RULE})", what="a seed file or folder"),
    Option("--agora-benchmark-dir", "benchmark_dir", f"a folder of <benchmark>.jsonl/.parquet files in the hub format ({RULE})", what="a benchmark folder"),
    Option("--agora-intrinsic", "intrinsic", "intrinsic metrics of the generated data (default: on)", choices=("on", "off"), switch=True),
    Option("--agora-prices", "prices_file", f"a JSON/TOML price table: model = {{input, output}} USD per million tokens, over the aliases' prices ({RULE})", what="a price file"),
    Option("--agora-budget", "budget_usd", "generation budget in USD per case: sizes the instances from a measured pilot (--instances then caps it)", type=float),
    Option("--agora-gpus", "gpus", "GPUs the run may use: all (default: every visible GPU) or ids such as 0,1,2,3", what="GPU ids or all"),
    Option("--agora-gpus-per-worker", "gpus_per_worker", "GPUs per pytest-xdist worker (default: the GPUs left after the generator's, split evenly)", type=int, at_least=1),
    Option("--agora-generator-gpus", "generator_gpus", "GPUs reserved for a locally served generator, tensor parallel over them (default 0)", type=int, at_least=0),
    Option("--agora-ray", "ray", "run each case as a task on a Ray cluster: its address, or auto (RAY_ADDRESS or a running local cluster); needs pytest-agorabench[ray]", what="a Ray address or auto"),
    Option("--agora-save", "save", f"save this run as a baseline: a name (kept as <store>/runs/NAME) or a path (has a /; {RULE})", what="a run name or path"),
    Option("--agora-compare", "compare", f"compare every case with this saved run: a name under <store>/runs, or a path ({RULE})", what="a run name or path"),
    Option("--agora-max-drop", "max_drop", "with --agora-compare: fail a case whose PGR drop beyond this many points is significant", type=float, at_least=0),
    Option("--agora-max-failures", "max_failures", "fail a case's gate when more than this share of its items have no usable judgment (default 0.05)", type=float, at_least=0, at_most=1),
    Option("--agora-repeats", "repeats", "train this many students per case (training seeds train-seed, +1, ...); PGR is their mean", type=int, at_least=1, at_most=50),
    Option("--agora-train-seed", "train_seed", "the student's training seed (default 42; the first of --agora-repeats)", type=int, at_least=0, at_most=2**31 - 1),
    Option("--agora-structured", "structured", "constrain the generator's output to the layout the parser reads, and a grammar-capable rubric judge's reply to its grade line: on / off (default: the profile's; on in smoke)", choices=("on", "off"), switch=True),
    Option("--agora-sizes", "sizes", "train a student on each prefix of the one generation run, e.g. 1000,5000,10000 (increasing, the largest = --instances); PGR and cost per size", what="a list of sizes"),
    Option("--agora-decontaminate", "decontaminate", "generated rows that copy the case's benchmark items: report them (default) or drop them before training", choices=DECONTAMINATE, what="report or drop"),
    Option("--agora-max-contamination", "max_contamination", "fail a case whose share of generated rows copying its benchmark items is above this (0..1)", type=float, at_least=0, at_most=1),
    Option("--agora-prompts", "prompts", f"meta-prompts: agorabench (default), unoptimized, json, or a folder of <domain>_<method>.txt prompt files ({RULE})", what="a prompt variant or folder"),
)
OPTION_KEYS = tuple(option.key for option in OPTIONS)
OPTION_BY_KEY = {option.key: option for option in OPTIONS}


def read_pyproject_table(rootdir: Path) -> dict[str, Any]:
    path = rootdir / "pyproject.toml"
    if not path.exists():
        return {}
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from exc
    table = data.get("tool", {}).get("agorabench", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.agorabench] must be a table")
    out: dict[str, Any] = {}
    spelled: dict[str, str] = {}
    for key, value in table.items():
        normal = key.replace("-", "_")
        if normal in spelled:
            # Both spellings: one would silently win over the other.
            raise ConfigError(
                f"{path}: [tool.agorabench] sets both {spelled[normal]} and {key}, which are the same key; keep one"
            )
        spelled[normal] = key
        out[normal] = value
    return out


def kind_of(value: Any) -> str:
    """A TOML/Python value's type in words (bool first: it is a subclass of int)."""
    for cls, name in ((bool, "a boolean"), (int, "an integer"), (float, "a float"), (str, "a string"),
                      (dict, "a table"), (list, "an array")):
        if isinstance(value, cls):
            return name
    return f"a {type(value).__name__}"


def as_toml(value: Any) -> str:
    """The value as the user wrote it in pyproject.toml."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    return str(value)


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def checked_value(option: Option, value: Any, source: str) -> Any:
    """``value`` (not None) of ``option`` from ``source`` ("cli": argparse or a fixture override, or
    "pyproject"), of the option's type: never coerced, since int(2.7) or float("10") would run something
    the user did not write. Numbers must be finite and in the option's bounds; strings non-empty."""
    if source == "cli":
        label, got = option.flag, f"{value!r} ({kind_of(value)})"
        if isinstance(value, os.PathLike) and option.type is None:
            value = os.fspath(value)  # a Path from agorabench.case(seed_file=Path(...))
    else:
        label, got = f"[tool.agorabench] {option.key} = {as_toml(value)}", kind_of(value)
    if option.type is int:
        expected, ok = "an integer", is_number(value) and isinstance(value, int)
    elif option.type is float:
        expected, ok = "a number", is_number(value)
    elif option.switch and source == "pyproject":
        # "no" or "off" in quotes: TOML has booleans, and a string here is a guess at what was meant.
        expected, ok = "a boolean (true or false)", isinstance(value, bool)
    elif option.switch:
        expected, ok = "'on', 'off' or a boolean", isinstance(value, bool) or value in ("on", "off")
    else:
        expected, ok = "a string", isinstance(value, str)
    if not ok:
        hint = ""
        if source == "pyproject" and expected == "a string" and is_number(value):
            hint = f' (quote it: {option.key} = "{value}")'
        elif source == "pyproject" and option.switch:
            hint = f" (write {option.key} = true or {option.key} = false)"
        elif source == "pyproject" and isinstance(value, str):
            hint = " (write it without quotes)"
        raise ConfigError(f"{label}: expected {expected}, got {got}{hint}")
    if isinstance(value, float) and not math.isfinite(value):
        # nan compares false with everything (a gate that never fails), inf has no cost or size.
        raise ConfigError(f"{label}: expected a finite number, got {value!r}")
    if option.at_least is not None and value < option.at_least:
        raise ConfigError(f"{label}: must be at least {option.at_least}, got {value!r}")
    if option.at_most is not None and value > option.at_most:
        raise ConfigError(f"{label}: must be at most {option.at_most}, got {value!r}")
    if value == "" and not option.switch:
        # An empty value would silently fall back to the profile's default (--judge= ran SmolLM2).
        leave_out = "leave the option out" if source == "cli" else f"remove the {option.key} key"
        name = option.flag if source == "cli" else f"[tool.agorabench] {option.key}"
        raise ConfigError(f"{name} is empty: name {option.what} or {leave_out}")
    return value
