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
    if spec in (".", ".."):
        raise SavedRunError(f"{spec!r} is not a run name")
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
    """At start-up: the saved run exists, and its run-wide settings (profile, student, reference, judge) are
    this run's; SavedRunError naming the difference otherwise. Each case checks the rest (items, recipe)."""
    if not folder.is_dir():
        raise SavedRunError(f"--agora-compare: no saved run at {folder} (save one with --agora-save)")
    report = folder / "report.json"
    if not report.exists():
        return  # a save cut short: its cases are still comparable one by one
    try:
        saved = json.loads(report.read_text()).get("config", {})
    except (OSError, ValueError) as exc:
        raise SavedRunError(f"{report} is not readable ({exc})") from None
    diffs = [
        f"{key}: {saved.get(key)!r} in the baseline, {config.get(key)!r} here"
        for key in ("profile", "student", "reference", "judge")
        if key in saved and saved.get(key) != config.get(key)
    ]
    if diffs:
        raise SavedRunError(f"--agora-compare: {folder} cannot be compared with this run: " + "; ".join(diffs))


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
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise SavedRunError(f"{path} is not a readable saved case ({exc})") from None
    if not isinstance(record, dict) or record.get("schema") != SCHEMA:
        raise SavedRunError(f"{path} is not a saved case of pytest-agorabench")
    return record


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
