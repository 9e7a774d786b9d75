"""load_seeds: source precedence, dedupe and limit, errors; and the shipped fixture seed files."""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from pytest_agorabench.seeds import SeedError, SeedSet, fingerprint, load_seeds
from pytest_agorabench.seeds import hub as hub_module
from pytest_agorabench.offline_data import fixtures_dir
from pytest_agorabench.seeds.fixtures import fixture_path, load_fixture, read_fixture_file
from pytest_agorabench.settings import available_settings, get_setting

MATH_IG = get_setting("math/instance_generation")
# Files of one or two rows: instance generation would refuse them (it needs three demonstrations).
MATH_RG = get_setting("math/response_generation")


def make_config(data_source="fixture", seed_limit=None, seed=42, seed_file=None) -> dict:
    """load_seeds' keyword arguments, as the pipeline passes them from a RunConfig."""
    return {"data_source": data_source, "limit": seed_limit, "seed": seed, "seed_file": seed_file}


def write_seed_file(path: Path, pairs: list[tuple[str, str]]) -> Path:
    path.write_text("".join(json.dumps({"instruction": i, "response": r}) + "\n" for i, r in pairs))
    return path


@pytest.fixture
def fake_hub(monkeypatch):
    """Replace load_hub: record its calls and return fixed rows per source."""
    calls = []

    def load_hub(source, limit, seed):
        calls.append((source.dataset_id, limit, seed))
        rows = [{"id": f"{source.dataset_id}:train:{i}", "instruction": f"{source.format} {i}",
                 "response": f"r {i}", "source": source.dataset_id} for i in range(3)]
        return rows, Counter({"no_boxed_answer": 2} if source.format == "hendrycks_math" else {})

    monkeypatch.setattr(hub_module, "load_hub", load_hub)
    return calls


# ---------------------------------------------------------------- precedence


def test_seed_file_wins_over_the_profile_source(tmp_path, fake_hub):
    path = write_seed_file(tmp_path / "own.jsonl", [("a", "b"), ("c", "d")])
    for source in ("fixture", "hub"):
        seeds = load_seeds(MATH_RG, **make_config(data_source=source, seed_file=path))
        assert [r["id"] for r in seeds.rows] == ["own:1", "own:2"]
        assert seeds.source == f"local file {path}"
    assert fake_hub == []


def test_fixture_profile_reads_the_settings_fixture_file(fake_hub):
    seeds = load_seeds(MATH_IG, **make_config(data_source="fixture"))
    assert seeds.rows == load_fixture(MATH_IG)
    assert seeds.source == f"fixture {fixture_path(MATH_IG)}"
    assert seeds.drops == {}
    assert fake_hub == []


def test_hub_profile_reads_every_hub_source_with_limit_and_seed(fake_hub):
    seeds = load_seeds(MATH_IG, **make_config(data_source="hub", seed_limit=4, seed=7))
    assert fake_hub == [("openai/gsm8k", 4, 7), ("EleutherAI/hendrycks_math", 4, 7)]
    assert len(seeds.rows) == 4
    assert seeds.drops == {"no_boxed_answer": 2}
    assert seeds.source == "hub openai/gsm8k (main, train) + EleutherAI/hendrycks_math (all configs, train)"


def test_unknown_data_source_is_a_seed_error():
    with pytest.raises(SeedError, match="data_source 'ftp'"):
        load_seeds(MATH_IG, **make_config(data_source="ftp"))


# ---------------------------------------------------------------- dedupe, limit, fingerprint


def test_exact_duplicates_are_removed_and_counted(tmp_path):
    path = write_seed_file(tmp_path / "d.jsonl", [("a", "b"), ("a", "b"), ("a", "c"), ("", "x"), ("a", "b")])
    seeds = load_seeds(MATH_RG, **make_config(seed_file=path))
    assert [(r["instruction"], r["response"]) for r in seeds.rows] == [("a", "b"), ("a", "c")]
    assert seeds.drops == {"duplicate": 2, "empty_instruction": 1}


def test_limit_subsample_is_deterministic_and_keeps_order(tmp_path):
    path = write_seed_file(tmp_path / "many.jsonl", [(f"q{i}", f"a{i}") for i in range(50)])
    first = load_seeds(MATH_IG, **make_config(seed_file=path, seed_limit=10, seed=1))
    again = load_seeds(MATH_IG, **make_config(seed_file=path, seed_limit=10, seed=1))
    other = load_seeds(MATH_IG, **make_config(seed_file=path, seed_limit=10, seed=2))
    assert first == again and first.fingerprint == again.fingerprint
    assert len(first) == 10 and first.rows != other.rows and first.fingerprint != other.fingerprint
    lines = [int(r["id"].split(":")[1]) for r in first.rows]
    assert lines == sorted(lines)
    assert not first.drops  # sampling is not a drop


def test_fingerprint_is_sha256_of_the_rows():
    rows = [{"id": "x:1", "instruction": "i", "response": "r", "source": "s"}]
    assert re.fullmatch(r"[0-9a-f]{64}", fingerprint(rows))
    assert fingerprint(rows) == fingerprint([dict(reversed(list(rows[0].items())))])  # key order irrelevant
    assert fingerprint(rows) != fingerprint([dict(rows[0], response="r2")])


def test_zero_usable_rows_explains_why(tmp_path):
    path = write_seed_file(tmp_path / "blank.jsonl", [(" ", "a"), ("b", "")])
    with pytest.raises(SeedError, match=r"no usable seed rows for math/instance_generation .*"
                                        r"empty_instruction: 1, empty_response: 1"):
        load_seeds(MATH_IG, **make_config(seed_file=path))


def test_seed_set_is_a_plain_frozen_record():
    seeds = SeedSet(rows=[], drops={}, source="s", fingerprint="f")
    with pytest.raises(dataclasses.FrozenInstanceError):
        seeds.source = "t"  # type: ignore[misc]


def test_importing_the_package_does_not_import_datasets_or_pyarrow():
    code = "import sys, pytest_agorabench.seeds; print('datasets' in sys.modules, 'pyarrow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


# ---------------------------------------------------------------- the shipped fixtures

MATH_SETTINGS = [s for s in available_settings() if s.domain.value == "math"]
RESULT_LINE = re.compile(r"\n\[RESULT\] (\S(?:.*\S)?) \[/RESULT\]$")


@pytest.mark.parametrize("setting", MATH_SETTINGS, ids=str)
def test_math_fixture_rows_are_well_formed(setting):
    rows = load_fixture(setting)
    assert 35 <= len(rows) <= 60
    assert all(r["source"] == "fixture" and r["id"].startswith("math-") for r in rows)
    for row in rows:
        response = row["response"]
        assert response.count("[RESULT]") == 1 and response.count("[/RESULT]") == 1, row["id"]
        assert RESULT_LINE.search(response), row["id"]  # the tag pair alone on the last line


def test_fixture_ids_and_instructions_are_unique_across_files():
    rows = [r for s in MATH_SETTINGS for r in load_fixture(s)]
    assert len({r["id"] for r in rows}) == len(rows)
    assert len({r["instruction"] for r in rows}) == len(rows)


def test_fixture_seeds_do_not_repeat_benchmark_items():
    bench = set()
    for file in sorted((fixtures_dir() / "benchmarks").glob("*.jsonl")):
        for line in file.read_text().splitlines():
            if line.strip():
                item = json.loads(line)
                bench.add(_norm(item.get("question") or item.get("problem") or ""))
    seeds = {_norm(r["instruction"]) for s in MATH_SETTINGS for r in load_fixture(s)}
    assert not seeds & bench


def _norm(text: str) -> str:
    return re.sub(r"[\s$]+", " ", text).strip().lower()


def test_instance_generation_fixture_is_mostly_simple_arithmetic():
    # The smoke student is tiny: most rows are one- or two-step problems with small numbers.
    simple = [r for r in load_fixture(MATH_IG) if "$" not in r["instruction"] and r["response"].count("\n") <= 2]
    assert len(simple) >= 20


def test_fixture_reader_refuses_broken_rows(tmp_path):
    path = tmp_path / "f.jsonl"
    path.write_text(json.dumps({"id": "a", "instruction": "i", "response": "r", "source": "fixture"}) + "\n"
                    + json.dumps({"id": "a", "instruction": "j", "response": "r", "source": "fixture"}) + "\n")
    with pytest.raises(SeedError, match="line 2 repeats the id 'a'"):
        read_fixture_file(path)
    path.write_text(json.dumps({"id": "a", "instruction": "i"}) + "\n")
    with pytest.raises(SeedError, match="line 1 needs text fields id, instruction, response, source"):
        read_fixture_file(path)
    with pytest.raises(SeedError, match="no offline fixture seeds"):
        read_fixture_file(tmp_path / "missing.jsonl")
