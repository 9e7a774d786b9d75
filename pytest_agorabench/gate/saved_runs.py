"""Saved runs: a baseline a later run compares with (``--agora-save`` / ``--agora-compare``).

A saved run is a folder that stands on its own (copy it to another machine as a CI artifact):
- ``cases/<domain>-<method>.json``: one per case, written by the worker that ran it: the setting, models,
  recipe, judge and judge prompt versions, training seeds, the store keys, PGR, and per benchmark the item
  ids with the item scores of every seed's student, the base and the reference;
- ``report.json``: the session's JSON report, and ``manifest.json`` (name, time, package versions), written
  by the controller at the end of the session.
A name is kept under ``<store>/runs/NAME``; a value with a path separator is a folder path.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

from pytest_agorabench.errors import AgoraBenchError
from pytest_agorabench.files import write_json_atomic

SCHEMA = "agorabench-saved-run"
VERSION = 1


class SavedRunError(AgoraBenchError):
    """A saved run that is missing, unreadable, or cannot be compared with this run; says which and why."""


def resolve(spec: str, runs_dir: Path, rootdir: Path) -> Path:
    """NAME -> ``runs_dir/NAME``; a value with a path separator -> that folder (relative to the rootdir)."""
    if os.sep in spec or (os.altsep and os.altsep in spec):
        path = Path(spec).expanduser()
        return path if path.is_absolute() else rootdir / path
    if spec in (".", "..") or not spec.strip():
        raise SavedRunError(f"{spec!r} is not a run name; give a name (kept under {runs_dir}) or a folder path with a /")
    return runs_dir / spec


def case_file(folder: Path, setting_key: str) -> Path:
    return folder / "cases" / f"{setting_key.replace('/', '-')}.json"


def case_record(result: Any, recipe: dict[str, Any], seeds: list[int]) -> dict[str, Any]:
    """What a comparison needs of one case (a CaseResult), JSON-ready."""
    recipe = {k: v for k, v in recipe.items() if k != "seed"}  # the training seed may differ between runs
    return {
        "schema": SCHEMA,
        "version": VERSION,
        "setting": result.setting,
        "generator": result.generator,
        "profile": result.profile,
        "student": result.student,
        "reference": result.reference,
        "judge": result.judge,
        "judge_prompts": {
            b.name: b.judging.get("prompt_version") for b in result.benchmarks if b.judging
        },
        "recipe": recipe,
        "prompts": result.prompts,
        "seeds": list(seeds),
        "store_keys": dict(result.artifacts),
        "pgr": dataclasses.asdict(result.pgr),
        "items_without_judgment": {
            b.name: {"items": b.judging.get("items", b.items), "used": b.judging.get("items_used", 0)}
            for b in result.benchmarks if b.judging
        },
        "item_scores": result.item_scores,
    }


def save_case(folder: Path, record: dict[str, Any]) -> Path:
    path = case_file(folder, record["setting"])
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(path, record)
    return path


def finish(folder: Path, name: str, report: dict[str, Any], versions: dict[str, Any]) -> None:
    """The controller's part, at the end of the session: the report and the manifest beside the cases."""
    folder.mkdir(parents=True, exist_ok=True)
    write_json_atomic(folder / "report.json", report)
    write_json_atomic(folder / "manifest.json", {
        "schema": SCHEMA,
        "version": VERSION,
        "name": name,
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "versions": versions,
        "cases": sorted(p.stem for p in (folder / "cases").glob("*.json")),
    })


def check_baseline(folder: Path, config: dict[str, Any]) -> None:
    """At start-up: the saved run exists, its case files can all be read, and its run-wide settings
    (profile, student, reference, judge) are this run's; SavedRunError naming the difference otherwise. The
    settings this run selects are checked after collection (``check_baseline_cases``)."""
    if not folder.is_dir():
        raise SavedRunError(f"--agora-compare: no saved run at {folder} (save one with --agora-save)")
    case_settings(folder, "--agora-compare")  # every case file readable
    report = folder / "report.json"
    if not report.exists():
        return  # a save cut short: its cases are still comparable one by one
    try:
        saved = json.loads(report.read_text()).get("config", {})
    except (OSError, ValueError, AttributeError) as exc:
        raise SavedRunError(f"--agora-compare: {report} is not a readable report ({exc})") from None
    diffs = [
        f"{key}: {saved.get(key)!r} in the baseline, {config.get(key)!r} here"
        for key in ("profile", "student", "reference", "judge")
        if key in saved and saved.get(key) != config.get(key)
    ]
    if diffs:
        raise SavedRunError(f"--agora-compare: {folder} cannot be compared with this run: " + "; ".join(diffs))


def check_baseline_cases(folder: Path, wanted: dict[str, dict[str, set[str] | None]]) -> None:
    """Before the first case: the baseline holds every selected setting (``wanted``: setting -> benchmark ->
    this run's item ids, None where they are only known after the run) over the same benchmarks and items."""
    have = case_settings(folder, "--agora-compare")
    missing = sorted(set(wanted) - set(have))
    if missing:
        raise SavedRunError(
            f"--agora-compare: {folder} has no case {', '.join(missing)} (it has: {', '.join(sorted(have))}); "
            "save a baseline with these settings, or deselect them (-k)")
    for key, benchmarks in sorted(wanted.items()):
        scores = have[key].get("item_scores")
        if not isinstance(scores, dict):
            raise SavedRunError(f"--agora-compare: {case_file(folder, key)} holds no item scores; is it damaged?")
        if set(scores) != set(benchmarks):
            raise SavedRunError(f"--agora-compare: {key} was saved over benchmarks {sorted(scores)}, this run "
                                f"uses {sorted(benchmarks)}; compare runs over the same benchmarks")
        for name, ids in sorted(benchmarks.items()):
            entry = scores[name] if isinstance(scores[name], dict) else {}
            if ids is None or entry.get("judged"):
                continue  # judged benchmarks keep a run-dependent subset: each case compares what both kept
            other = set(map(str, entry.get("ids") or ()))
            if not other <= ids:  # this run scores at most its benchmark's items
                raise SavedRunError(
                    f"--agora-compare: {key}'s {name} items differ from the baseline's ({len(other - ids)} of its "
                    f"{len(other)} items are not in this run's benchmark); compare runs over the same benchmark files")


def case_settings(folder: Path, label: str = "saved run") -> dict[str, dict[str, Any]]:
    """setting -> record of every case file in ``folder``, each read and checked (SavedRunError naming a
    damaged one: a comparison must not start and then stop half-way)."""
    out = {}
    for path in sorted((folder / "cases").glob("*.json")):
        record = _read_case(path, label)
        out[record["setting"]] = record
    return out


def _read_case(path: Path, label: str) -> dict[str, Any]:
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError) as exc:  # UnicodeDecodeError (a binary file) is a ValueError
        raise SavedRunError(f"{label}: {path} is not a readable saved case ({type(exc).__name__}); is it damaged?") from None
    if not isinstance(record, dict) or record.get("schema") != SCHEMA or not isinstance(record.get("setting"), str):
        raise SavedRunError(f"{label}: {path} is not a saved case of pytest-agorabench (no schema or setting)")
    return record


def check_at_startup(save: str | None, compare: str | None, runs_dir: Path, rootdir: Path, summary: dict[str, Any],
                     overwrite: bool, controller: bool) -> None:
    """The plugin's start-up checks of --agora-save / --agora-compare, before any work. Only the controller
    (the one process without xdist) checks the save folder and clears it on --agora-save-overwrite: workers
    start later and would find their siblings' first cases there."""
    def where(flag: str, spec: str) -> Path:
        try:
            return resolve(spec, runs_dir, rootdir)
        except SavedRunError as exc:
            raise SavedRunError(f"{flag}: {exc}") from None

    compare_folder = where("--agora-compare", compare) if compare else None
    if compare_folder is not None:
        check_baseline(compare_folder, summary)
        if not case_settings(compare_folder, "--agora-compare"):
            raise SavedRunError(
                f"--agora-compare: {compare_folder} holds no saved case; name a folder written by --agora-save")
    if save and controller:
        folder = where("--agora-save", save)
        check_save(folder, compare_folder, overwrite)
        if overwrite:
            clear_saved_run(folder)


def check_save(folder: Path, compare_folder: Path | None, overwrite: bool) -> None:
    """At start-up, before any work: --agora-save names a folder this run can write, is not the baseline it
    compares with, and holds no earlier saved run unless ``overwrite`` (--agora-save-overwrite) says so; a
    folder with other files is never written into."""
    from pytest_agorabench.cli_args import ArgumentCheckError, check_writable

    if compare_folder is not None and folder.resolve() == compare_folder.resolve():
        raise SavedRunError(f"--agora-save and --agora-compare both name {folder}: saving would overwrite the "
                            "baseline before the comparison; save this run under another name")
    try:
        check_writable("--agora-save", folder, "folder")
    except ArgumentCheckError as exc:
        raise SavedRunError(str(exc)) from None
    if not folder.is_dir() or not any(folder.iterdir()):
        return
    ours = _saved_run_entries(folder)
    others = sorted(p.name for p in folder.iterdir() if p not in ours)
    if others:
        raise SavedRunError(f"--agora-save: {folder} holds files that are not a saved run ({', '.join(others[:5])}); "
                            "name a new or empty folder")
    if not overwrite:
        raise SavedRunError(f"--agora-save: {folder} already holds a saved run; give --agora-save-overwrite to "
                            "replace it, or save under another name")


def _saved_run_entries(folder: Path) -> list[Path]:
    return [p for p in (folder / "cases", folder / "report.json", folder / "manifest.json") if p.exists()]


def clear_saved_run(folder: Path) -> None:
    """--agora-save-overwrite, on the controller before any case: remove the earlier saved run's files, so
    its cases that this run does not redo cannot mix into the new one (check_save vouched they are ours)."""
    cases = folder / "cases"
    if cases.is_dir():
        for path in cases.glob("*.json"):
            path.unlink()
    for name in ("report.json", "manifest.json"):
        (folder / name).unlink(missing_ok=True)


def load_case(folder: Path, setting_key: str) -> dict[str, Any]:
    """The baseline's record of a setting; SavedRunError naming the folder when it has none."""
    if not folder.is_dir():
        raise SavedRunError(f"no saved run at {folder} (save one with --agora-save)")
    path = case_file(folder, setting_key)
    if not path.exists():
        have = sorted(p.stem for p in (folder / "cases").glob("*.json"))
        raise SavedRunError(
            f"the saved run {folder} has no case {setting_key} (it has: {', '.join(have) or 'none'})"
        )
    return _read_case(path, "saved run")


def differences(run: dict[str, Any], baseline: dict[str, Any]) -> list[str]:
    """Why two case records cannot be compared (empty when they can): a different student, reference,
    recipe, judge, judge prompt, profile or benchmark items."""
    out = []
    for key, what in (("profile", "profile"), ("student", "student"), ("reference", "reference"),
                      ("judge", "judge"), ("judge_prompts", "judge prompt versions"), ("recipe", "training recipe")):
        if run.get(key) != baseline.get(key):
            out.append(f"{what}: {_short(baseline.get(key))} in the baseline, {_short(run.get(key))} here")
    mine, theirs = run.get("item_scores", {}), baseline.get("item_scores", {})
    if set(mine) != set(theirs):
        out.append(f"benchmarks: {sorted(theirs)} in the baseline, {sorted(mine)} here")
    for name in sorted(set(mine) & set(theirs)):
        if mine[name].get("judged") or theirs[name].get("judged"):
            # Judged benchmarks keep only the items every model got a usable judgment on, which differ
            # from run to run: the benchmark must be the same size, the comparison uses the items both kept.
            if mine[name].get("benchmark_items") != theirs[name].get("benchmark_items"):
                out.append(f"{name}: {theirs[name].get('benchmark_items')} items in the baseline, "
                           f"{mine[name].get('benchmark_items')} here")
            continue
        a, b = set(mine[name]["ids"]), set(theirs[name]["ids"])
        if a != b:
            out.append(
                f"{name} items: {len(b - a)} only in the baseline, {len(a - b)} only here (e.g. "
                f"{sorted(a ^ b)[:3]})"
            )
    return out


def _short(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= 120 else text[:117] + "..."
