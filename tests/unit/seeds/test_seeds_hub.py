"""load_hub through the real `datasets` machinery, with the hub replaced by local files in the hub's layout."""

from __future__ import annotations

import json
from pathlib import Path

import datasets
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pytest_agorabench.hub_datasets import MATH_SUBJECTS as MATH_CONFIGS
from pytest_agorabench.seeds import SeedError
from pytest_agorabench.seeds.hub import describe, load_hub
from pytest_agorabench.settings import HubSource, get_setting

GSM8K = HubSource("openai/gsm8k", "main", "train", "gsm8k")
MATH = HubSource("EleutherAI/hendrycks_math", None, "train", "hendrycks_math")
MAGPIE_MATH = HubSource("Magpie-Align/Magpie-Reasoning-150K", None, "train", "magpie", "math")


def gsm8k_rows(n: int) -> list[dict]:
    rows = [{"question": f"Q{i}: what is {i} + 1?", "answer": f"{i} + 1 = <<{i}+1={i + 1}>>{i + 1}\n#### {i + 1}"}
            for i in range(n)]
    rows[3]["answer"] = "forgot the final line"  # one row the converter must drop and count
    return rows


class FakeHub:
    """Stands in for the hub: maps (dataset id, config) to a local file read by the real `load_dataset`."""

    def __init__(self, monkeypatch, tmp_path: Path):
        self.tmp_path = tmp_path
        self.files: dict[tuple[str, str | None], Path] = {}
        self.calls: list[tuple[str, str | None, str]] = []
        real = datasets.load_dataset

        def fake_load_dataset(path, name=None, *, split=None, **kwargs):
            self.calls.append((path, name, split))
            file = self.files.get((path, name))
            if file is None:
                raise FileNotFoundError(f"Couldn't find dataset {path} on the Hugging Face Hub")
            builder = "parquet" if file.suffix == ".parquet" else "json"
            return real(builder, data_files=str(file), split="train", cache_dir=str(tmp_path / "cache"))

        monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)

    def add_jsonl(self, dataset_id: str, config: str | None, rows: list[dict]) -> None:
        file = self.tmp_path / f"{dataset_id.replace('/', '_')}_{config}.jsonl"
        file.write_text("".join(json.dumps(r) + "\n" for r in rows))
        self.files[(dataset_id, config)] = file

    def add_parquet(self, dataset_id: str, config: str | None, rows: list[dict]) -> None:
        file = self.tmp_path / f"{dataset_id.replace('/', '_')}_{config}.parquet"
        pq.write_table(pa.Table.from_pylist(rows), file)
        self.files[(dataset_id, config)] = file


@pytest.fixture
def hub(monkeypatch, tmp_path):
    return FakeHub(monkeypatch, tmp_path)


def test_gsm8k_rows_convert_with_stable_ids_and_counted_drops(hub):
    hub.add_jsonl("openai/gsm8k", "main", gsm8k_rows(6))
    rows, drops = load_hub(GSM8K, None, seed=0)
    assert hub.calls == [("openai/gsm8k", "main", "train")]
    assert [r["id"] for r in rows] == [f"openai/gsm8k:train:{i}" for i in (0, 1, 2, 4, 5)]
    assert rows[0]["response"] == "0 + 1 = 1\n[RESULT] 1 [/RESULT]"
    assert {r["source"] for r in rows} == {"openai/gsm8k"}
    assert drops == {"no_final_answer_line": 1}


def test_math_reads_all_seven_configs_when_none_is_named(hub):
    for k, config in enumerate(MATH_CONFIGS):
        rows = [{"problem": f"{config} {i}", "level": "Level 1", "type": config, "solution": f"$\\boxed{{{k}{i}}}$"}
                for i in range(2)]
        rows[1]["solution"] = "no box" if k == 0 else rows[1]["solution"]
        hub.add_parquet("EleutherAI/hendrycks_math", config, rows)
    rows, drops = load_hub(MATH, None, seed=0)
    assert [c[1] for c in hub.calls] == list(MATH_CONFIGS)
    assert len(rows) == 13 and drops == {"no_boxed_answer": 1}
    assert rows[0]["id"] == "EleutherAI/hendrycks_math/algebra:train:0"
    assert rows[-1]["id"] == "EleutherAI/hendrycks_math/precalculus:train:1"
    assert rows[-1]["response"].endswith("[RESULT] 61 [/RESULT]")


def test_a_named_config_is_the_only_one_read(hub):
    hub.add_jsonl("EleutherAI/hendrycks_math", "geometry", [{"problem": "p", "solution": "\\boxed{1}"}])
    rows, _ = load_hub(HubSource("EleutherAI/hendrycks_math", "geometry", "train", "hendrycks_math"), None, 0)
    assert [r["id"] for r in rows] == ["EleutherAI/hendrycks_math:train:0"]


def magpie_rows(n: int) -> list[dict]:
    categories = ["Math", "Coding & Debugging", "Reasoning"]
    return [
        {
            "uuid": f"u{i}",
            "instruction": f"Task {i}",
            "response": f"Answer {i}",
            "conversations": [{"from": "human", "value": f"Task {i}"}, {"from": "gpt", "value": f"Answer {i}"}],
            "task_category": categories[i % 3],
        }
        for i in range(n)
    ]


def test_magpie_subset_filter_is_counted(hub):
    hub.add_parquet("Magpie-Align/Magpie-Reasoning-150K", None, magpie_rows(9))
    rows, drops = load_hub(MAGPIE_MATH, None, seed=0)
    assert [r["instruction"] for r in rows] == ["Task 0", "Task 3", "Task 6"]
    assert drops == {"not_in_subset:math": 6}


def test_limit_is_deterministic_per_seed_and_keeps_dataset_order(hub):
    hub.add_jsonl("openai/gsm8k", "main", gsm8k_rows(40))
    first, _ = load_hub(GSM8K, 5, seed=1)
    again, _ = load_hub(GSM8K, 5, seed=1)
    other, _ = load_hub(GSM8K, 5, seed=2)
    assert first == again
    assert len(first) == 5 and [r["id"] for r in first] != [r["id"] for r in other]
    indices = [int(r["id"].rsplit(":", 1)[1]) for r in first]
    assert indices == sorted(indices)


def test_limit_counts_only_usable_rows(hub):
    hub.add_parquet("Magpie-Align/Magpie-Reasoning-150K", None, magpie_rows(30))
    rows, drops = load_hub(MAGPIE_MATH, 4, seed=3)
    assert len(rows) == 4
    assert all(r["instruction"] in {f"Task {i}" for i in range(0, 30, 3)} for r in rows)
    assert set(drops) <= {"not_in_subset:math"}


def test_limit_larger_than_the_dataset_returns_everything(hub):
    hub.add_jsonl("openai/gsm8k", "main", gsm8k_rows(6))
    rows, drops = load_hub(GSM8K, 100, seed=0)
    assert len(rows) == 5 and drops == {"no_final_answer_line": 1}


def test_a_hub_failure_is_one_clear_seed_error(hub):
    with pytest.raises(SeedError, match=r"could not load seed data openai/gsm8k \(config main.*Offline\?"):
        load_hub(GSM8K, None, seed=0)


def test_bad_limit_and_bad_subset_are_refused_before_loading(hub):
    with pytest.raises(SeedError, match="at least 1"):
        load_hub(GSM8K, 0, seed=0)
    with pytest.raises(SeedError, match="no subset 'physics'"):
        load_hub(HubSource("Magpie-Align/Magpie-Reasoning-150K", None, "train", "magpie", "physics"), None, 0)
    assert hub.calls == []


def test_describe():
    assert describe(GSM8K) == "openai/gsm8k (main, train)"
    assert describe(MATH) == "EleutherAI/hendrycks_math (all configs, train)"
    assert describe(MAGPIE_MATH) == "Magpie-Align/Magpie-Reasoning-150K (train, subset math)"


@pytest.mark.network
def test_real_hub_sources_of_the_math_settings_load():
    for key in ("math/instance_generation", "math/response_generation", "math/quality_enhancement"):
        for source in get_setting(key).hub_sources:
            rows, _ = load_hub(source, 3, seed=0)
            assert len(rows) == 3, source
            if get_setting(key).method.value == "instance_generation":
                assert all(r["response"].endswith("[/RESULT]") for r in rows)
