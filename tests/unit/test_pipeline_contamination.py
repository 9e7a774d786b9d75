"""The contamination stage in the pipeline: keyed by the generation artifact, the items and the rule (not by
the mode or the limit), served from the store on a rerun; ``drop`` removes the flagged rows, ``report``
hands every row on unchanged; the --agora-max-contamination sentence."""

import dataclasses
import json
from pathlib import Path

import pytest

from pytest_agorabench.config import ConfigError, build_config
from pytest_agorabench.files import write_jsonl
from pytest_agorabench.pipeline.contamination import contamination, over_threshold
from pytest_agorabench.pipeline.keys import Clock
from pytest_agorabench.store import Store

SIGNAL = Path(__file__).resolve().parents[2] / "fixtures" / "signal"
ROWS = [
    {"id": "i0", "instruction": "What is 3 + 3?", "response": "3 + 3 = 6."},  # a gsm8k and math item, verbatim
    {"id": "i1", "instruction": "What is 5 + 0?", "response": "5 + 0 = 5."},  # clean
    {"id": "i2", "instruction": "3 + 3 is what?", "response": "3 + 3 = 6."},  # a near copy
]


def _config(tmp_path, **cli):
    return build_config({"benchmark_dir": str(SIGNAL / "benchmarks"), "store": str(tmp_path / "store"), **cli},
                        {}, tmp_path)


def _generation(store: Store, rows: list[dict], tag: str = "a"):
    return store.once("generation", {"test": tag}, lambda workdir, key: write_jsonl(workdir / "rows.jsonl", rows))


def test_report_mode_keeps_every_row_and_a_rerun_is_served_from_the_store(tmp_path):
    config = _config(tmp_path)
    store = Store(config.store_dir)
    generation = _generation(store, ROWS)
    clock = Clock()
    report, kept = contamination(store, generation, ROWS, ["gsm8k", "math"], config, clock)
    assert kept is ROWS and report["mode"] == "report" and report["threshold"] is None
    assert report["rows_flagged"] == 1 and report["near_copies"] == 1 and "contamination" not in clock.cached
    assert report["by_benchmark"]["gsm8k"] == {"items": 20, "rows_flagged": 1, "near_copies": 1}

    again = Clock()
    dropped = _config(tmp_path, decontaminate="drop", max_contamination=0.5)
    report2, kept2 = contamination(store, generation, ROWS, ["gsm8k", "math"], dropped, again)
    # the mode and the limit are not part of the check's key: the same artifact serves both
    assert again.cached == ["contamination"] and again.keys["contamination"] == clock.keys["contamination"]
    assert [r["id"] for r in kept2] == ["i1", "i2"] and report2["dropped"] == 1 and report2["threshold"] == 0.5

    # other generated rows (another generation artifact) or other items: another key
    other = Clock()
    contamination(store, _generation(store, ROWS[1:], "b"), ROWS[1:], ["gsm8k"], config, other)
    assert other.keys["contamination"] != clock.keys["contamination"]


def test_the_limit_sentence_names_share_threshold_and_worst_copy(tmp_path):
    config = _config(tmp_path, max_contamination=0.25)
    store = Store(config.store_dir)
    report, _ = contamination(store, _generation(store, ROWS), ROWS, ["gsm8k"], config, Clock())
    why = over_threshold(report)
    assert why is not None and "1 of 3 generated rows copy benchmark items" in why
    assert "share 0.3333 > --agora-max-contamination 0.25" in why
    assert "row i0 (instruction) copies gsm8k item gsm8k/gsm8k/0 (question, exact): 'What is 3 + 3?'" in why
    assert over_threshold({**report, "threshold": 0.4}) is None
    assert over_threshold({**report, "threshold": None}) is None
    assert over_threshold({}) is None


@pytest.mark.parametrize(
    "cli, message",
    [
        ({"decontaminate": "remove"}, "choose from report, drop"),
        ({"max_contamination": 1.5}, "--agora-max-contamination: must be at most 1"),
        ({"max_contamination": "lots"}, "--agora-max-contamination: expected a number"),
    ],
)
def test_bad_contamination_options_are_clear_errors(tmp_path, cli, message):
    with pytest.raises(ConfigError, match=message):
        _config(tmp_path, **cli)


def test_the_options_come_from_pyproject_too(tmp_path):
    from pytest_agorabench.option_table import read_pyproject_table

    (tmp_path / "pyproject.toml").write_text('[tool.agorabench]\ndecontaminate = "drop"\nmax-contamination = 0.1\n')
    config = build_config({}, read_pyproject_table(tmp_path), tmp_path)
    assert (config.decontaminate, config.max_contamination) == ("drop", 0.1)
    assert dataclasses.replace(config).summary()["decontaminate"] == "drop"
    assert json.dumps(config.summary())
