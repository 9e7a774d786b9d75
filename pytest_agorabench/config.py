"""RunConfig: CLI options + ``[tool.agorabench]`` in pyproject + profile (profiles.py), validated once, then
frozen."""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


from pytest_agorabench.models import UnknownModelError, resolve_model, resolve_weights
from pytest_agorabench.option_checks import check_budget, check_gpus, check_sizes
from pytest_agorabench.option_table import (
    DECONTAMINATE,
    DEMO_MIXES,
    GATES,
    OPTION_BY_KEY,
    OPTION_KEYS,
    TABLE_KEYS,
    as_toml,
    checked_value,
    is_number,
    kind_of,
)
from pytest_agorabench.path_options import (  # noqa: F401 - ConfigError and report_file are config's API too
    RULE,
    ConfigError,
    check_writable_dir,
    is_off,
    local_weights,
    report_file,
    resolve,
)
from pytest_agorabench.pricing import PriceError, load_table, parse_table, priced_model
from pytest_agorabench.profiles import DEFAULT_PROFILE, PROFILES, Profile
from pytest_agorabench.settings import SETTINGS, Setting




@dataclass(frozen=True)
class RunConfig:
    profile: Profile
    generator: str
    student: str
    reference: str
    judge: str | None
    instances: int
    min_pgr: float | None = None
    min_pgr_by_setting: dict[str, float] = field(default_factory=dict)
    gate_on: str = "point"
    store_dir: Path = Path(".agorabench")
    json_report: Path | None = None
    html_report: Path | None = None  # None: next to the JSON report, unless html_off
    html_off: bool = False
    md_report: Path | None = None  # Table 2 as Markdown, only when asked for
    seed: int = 42
    demo_mix: str = "intended"
    seed_file: Path | None = None  # a local seed file/folder overriding the profile's data source
    benchmark_dir: Path | None = None  # a folder of <benchmark>.jsonl/.parquet files in hub format
    intrinsic: bool = True  # measure the generated data's intrinsic metrics (AGORABENCH.md section 5)
    # Meta-prompts (AGORABENCH.md 2.6): agorabench / unoptimized / json, or the absolute path of a folder
    # of prompt files in the official placeholder format.
    prompts: str = "agorabench"
    # --agora-structured: the generator's output constrained to the layout its prompts ask for; the note says
    # why a profile's default "on" was set aside for a generator that cannot be constrained (None: it was not).
    structured: bool = False
    structured_note: str | None = None
    # User prices, model -> (USD per 1M input, per 1M output), over the aliases' list prices (pricing.py).
    prices: dict[str, tuple[float, float]] = field(default_factory=dict)
    # Budget mode: USD per case for generation; instances are sized from a measured pilot. budget_cap is
    # --instances when given with a budget (None: only the budget and the seed count limit the size).
    budget_usd: float | None = None
    budget_cap: int | None = None
    # The GPU plan's options (serving/gpu_plan.py): None / None / 0 = every visible GPU split over the workers.
    gpus: str | None = None
    gpus_per_worker: int | None = None
    generator_gpus: int = 0
    # --agora-ray: the Ray cluster's address ("auto": RAY_ADDRESS or a running local cluster); None: cases run
    # in this process (cluster/).
    ray: str | None = None
    # The regression gate (gate/): save this run, compare with a saved one, the margin in PGR points, the
    # share of items without a usable judgment that fails a gate closed; training seeds per case.
    save: str | None = None
    compare: str | None = None
    max_drop: float | None = None
    max_failures: float = 0.05
    repeats: int = 1
    train_seed: int = 42
    # --agora-sizes: prefixes of the generation run a student each is trained on (the last is ``instances``);
    # None: the case's one student only.
    sizes: tuple[int, ...] | None = None
    # Generated rows that copy the case's benchmark items (contamination/): reported, or dropped before
    # training; a case whose flagged share is above max_contamination fails (None: no such gate).
    decontaminate: str = "report"
    max_contamination: float | None = None

    @property
    def training_seeds(self) -> tuple[int, ...]:
        return tuple(range(self.train_seed, self.train_seed + self.repeats))

    def threshold_for(self, setting: Setting) -> float | None:
        return self.min_pgr_by_setting.get(setting.key, self.min_pgr)

    def summary(self) -> dict[str, Any]:
        out = {k: v for k, v in dataclasses.asdict(self).items() if k != "profile"}
        out["profile"] = self.profile.name
        if out["sizes"] is None:
            del out["sizes"]  # a run without --agora-sizes reports the config it always did
        return {k: (str(v) if isinstance(v, Path) else v) for k, v in out.items()}


def _check_model(kind: str, name: Any, weights: bool = False) -> str:
    if not isinstance(name, str):
        raise ConfigError(f"--{kind} must be a string, got {name!r}")
    try:
        return resolve_weights(name) if weights else resolve_model(name).name
    except UnknownModelError as exc:
        raise ConfigError(f"--{kind}: {exc}") from exc


def _choice(kind: str, value: Any, choices: tuple[str, ...] | list[str]) -> str:
    if value not in choices:
        raise ConfigError(f"--{kind}: invalid choice {value!r} (choose from {', '.join(choices)})")
    return value


def build_config(cli: dict[str, Any], pyproject: dict[str, Any], rootdir: Path) -> RunConfig:
    """CLI values (None when not given) win over pyproject, which wins over the profile."""
    unknown = set(pyproject) - set(OPTION_KEYS) - TABLE_KEYS
    if unknown:
        raise ConfigError(
            f"[tool.agorabench] has unknown keys {sorted(unknown)}; valid keys: {', '.join(OPTION_KEYS)}, "
            f"{', '.join(sorted(TABLE_KEYS))}"
        )

    # Every pyproject value is checked, even one the command line overrides: the file is wrong either way.
    for key, value in pyproject.items():
        if key in OPTION_BY_KEY:
            checked_value(OPTION_BY_KEY[key], value, "pyproject")

    def pick(key: str) -> Any:
        value = cli.get(key)
        if value is not None:
            return checked_value(OPTION_BY_KEY[key], value, "cli")
        return pyproject.get(key)

    profile_name = pick("profile") or DEFAULT_PROFILE
    profile = PROFILES.get(profile_name)
    if profile is None:
        _choice("agora-profile", profile_name, list(PROFILES))
    assert profile is not None

    generator = pick("generator") or profile.generator
    if generator is None:
        raise ConfigError(f"the {profile.name!r} profile needs --generator (an alias or an inspect model string)")
    generator = _check_model("generator", generator)
    student = _check_model("student", pick("student") or profile.student, weights=True)
    student = local_weights("--student", student, rootdir)
    reference = pick("reference") or profile.reference
    if reference != "gold":
        reference = local_weights("--reference", _check_model("reference", reference, weights=True), rootdir)
    judge = pick("judge") or profile.judge
    if judge is not None:
        judge = _check_model("judge", judge)

    instances = pick("instances")
    sizes = check_sizes(pick("sizes"), instances, pick("budget_usd") is not None)
    instances = (sizes[-1] if sizes else profile.instances) if instances is None else instances
    min_pgr = pick("min_pgr")
    min_pgr = None if min_pgr is None else float(min_pgr)

    by_setting_raw = pyproject.get("min_pgr_by_setting", {})
    if not isinstance(by_setting_raw, dict):
        raise ConfigError("[tool.agorabench] min_pgr_by_setting must be a table of setting = number")
    valid_keys = {s.key for s in SETTINGS} | {s.id for s in SETTINGS}
    by_setting: dict[str, float] = {}
    for name, value in by_setting_raw.items():
        if name not in valid_keys:
            raise ConfigError(
                f"min_pgr_by_setting: unknown setting {name!r}; valid: {', '.join(s.key for s in SETTINGS)}"
            )
        if not is_number(value) or not math.isfinite(value):
            raise ConfigError(
                f"[tool.agorabench.min_pgr_by_setting] {json.dumps(name)} = {as_toml(value)}: expected a finite "
                f"number, got {value if is_number(value) else kind_of(value)}"
            )
        by_setting[name.replace("-", "/", 1)] = float(value)

    store = resolve(pick("store") or ".agorabench", rootdir)
    check_writable_dir("--agora-store", store)
    if is_off(pick("json")):
        raise ConfigError(
            f"--agora-json={pick('json')}: the JSON report cannot be turned off; name a file or leave the option out"
        )
    json_report = report_file("--agora-json", pick("json"), rootdir)
    html = pick("html")
    html_off = is_off(html)
    html_report = None if html is None or html_off else report_file("--agora-html", html, rootdir)
    md = pick("md")
    md_report = None if is_off(md) else report_file("--agora-md", md, rootdir)
    seed_file = pick("seed_file")
    if seed_file is not None:
        seed_file = resolve(seed_file, rootdir)
        if not seed_file.exists():
            raise ConfigError(f"--agora-seed-file: {seed_file} does not exist")

    benchmark_dir = pick("benchmark_dir")
    if benchmark_dir is not None:
        benchmark_dir = resolve(benchmark_dir, rootdir)
        if not benchmark_dir.is_dir():
            raise ConfigError(f"--agora-benchmark-dir: {benchmark_dir} is not a directory")

    prices = _prices(pyproject.get("prices"), pick("prices_file"), rootdir)
    prompts = _prompts(pick("prompts"), rootdir)
    structured, structured_note = _structured(pick("structured"), profile, generator, prompts)
    budget_usd = pick("budget_usd")
    budget_cap = None
    if budget_usd is not None:
        budget_usd = float(budget_usd)
        if not budget_usd > 0:
            raise ConfigError(f"--agora-budget must be a positive number of USD, got {budget_usd!r}")
        spec = priced_model(generator, prices)
        if not spec.priced or (spec.usd_per_1m_input == 0 and spec.usd_per_1m_output == 0):
            what = "has no price" if not spec.priced else "is free (price 0)"
            raise ConfigError(
                f"--agora-budget: the generator {generator!r} {what}, so no budget can size its run; add its "
                "price to [tool.agorabench.prices] or a --agora-prices file, or use --instances"
            )
        check_budget(budget_usd, spec, prompts)
        # With a budget, --instances (when given) caps the size; the profile's default does not.
        budget_cap = instances if pick("instances") is not None else None

    return RunConfig(
        profile=profile,
        generator=generator,
        student=student,
        reference=reference,
        judge=judge,
        instances=instances,
        min_pgr=min_pgr,
        min_pgr_by_setting=by_setting,
        gate_on=_choice("agora-gate", pick("gate_on") or "point", GATES),
        store_dir=store,
        json_report=json_report,
        html_report=html_report,
        html_off=html_off,
        md_report=md_report,
        seed=pick("seed") if pick("seed") is not None else 42,
        demo_mix=_choice("agora-demo-mix", pick("demo_mix") or "intended", DEMO_MIXES),
        seed_file=seed_file,
        benchmark_dir=benchmark_dir,
        intrinsic=_switch("agora-intrinsic", pick("intrinsic")),
        prompts=prompts,
        structured=structured,
        structured_note=structured_note,
        prices=prices,
        budget_usd=budget_usd,
        budget_cap=budget_cap,
        gpus=check_gpus(pick("gpus")),
        gpus_per_worker=pick("gpus_per_worker"),
        generator_gpus=pick("generator_gpus") or 0,
        ray=_ray_address(pick("ray")),
        sizes=sizes,
        decontaminate=_choice("agora-decontaminate", pick("decontaminate") or "report", DECONTAMINATE),
        max_contamination=None if pick("max_contamination") is None else float(pick("max_contamination")),
        **_gate_options(pick),
    )


def _ray_address(value: Any) -> str | None:
    """--agora-ray: an address or auto; off/none/false (e.g. over a pyproject default) runs locally."""
    if value is None or is_off(value):
        return None
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"--agora-ray: expected a Ray address (host:port, ray://host:port) or auto, got {value!r}")
    return value.strip()


def _gate_options(pick: Any) -> dict[str, Any]:
    max_drop = pick("max_drop")
    compare = pick("compare")
    if max_drop is not None and compare is None:
        raise ConfigError("--agora-max-drop gates a comparison: name the saved run with --agora-compare")
    failures = pick("max_failures")
    return {
        "save": pick("save"),
        "compare": compare,
        "max_drop": None if max_drop is None else float(max_drop),
        "max_failures": 0.05 if failures is None else float(failures),
        "repeats": pick("repeats") or 1,
        "train_seed": 42 if pick("train_seed") is None else pick("train_seed"),
    }


def _prompts(value: Any, rootdir: Path) -> str:
    """A variant name, or a prompt folder checked now (a typo in a file fails before any model call)."""
    from pytest_agorabench.generation.prompts import DEFAULT_VARIANT, VARIANTS
    from pytest_agorabench.generation.prompts.folder import (
        PromptFolderError,
        load_folder,
    )

    if value is None:
        return DEFAULT_VARIANT
    if value in VARIANTS:
        return value
    folder = resolve(value, rootdir)
    if not folder.exists():
        raise ConfigError(
            f"--agora-prompts: {value!r} is neither a prompt variant ({', '.join(VARIANTS)}) nor an existing folder"
        )
    try:
        load_folder(folder)
    except PromptFolderError as exc:
        raise ConfigError(f"--agora-prompts: {exc}") from None
    return str(folder)


def _structured(value: Any, profile: Profile, generator: str, prompts: str) -> tuple[bool, str | None]:
    """(on, note). ``--agora-structured=on`` with a backend that cannot constrain the chosen layout is refused
    now, naming the backend, rather than generating free text under the option's name. A profile's default
    "on" gives way instead (the user asked for nothing), and the note says so in every case's notices."""
    from pytest_agorabench.generation.constraint import structured_problem
    from pytest_agorabench.generation.layouts import family_of

    on = profile.structured if value is None else _switch("agora-structured", value)
    if not on:
        return False, None
    why = structured_problem(resolve_model(generator).inspect_model, family_of(prompts))
    if why is None:
        return True, None
    if value is not None:
        raise ConfigError(f"--agora-structured=on: {why}")
    return False, f"structured generation off although the {profile.name} profile turns it on: {why}"


def _switch(name: str, value: Any) -> bool:
    """on/off (CLI) or a boolean (pyproject); unset means on."""
    if value is None or value is True or value == "on":
        return True
    if value is False or value == "off":
        return False
    raise ConfigError(f"--{name}: expected 'on' or 'off', got {value!r}")


def _prices(table: Any, file: Any, rootdir: Path) -> dict[str, tuple[float, float]]:
    """pyproject's [tool.agorabench.prices], then the --agora-prices file's entries over it."""
    try:
        prices = parse_table(table, "[tool.agorabench.prices]") if table is not None else {}
        if file is not None:
            prices.update(load_table(resolve(file, rootdir)))
    except PriceError as exc:
        raise ConfigError(str(exc)) from None
    for model in prices:
        try:
            resolve_model(model)
        except UnknownModelError as exc:
            raise ConfigError(f"price table: {exc}") from None
    return prices
