import json
from fractions import Fraction

import pytest

from pytest_agorabench.evaluation import benchmarks
from pytest_agorabench.evaluation.benchmarks import (
    BENCHMARKS,
    BenchmarkError,
    BenchmarkSpec,
    fixtures_dir,
    get_benchmark,
    load_items,
)
from pytest_agorabench.evaluation.math_answers import gsm8k_equal, math_equal


def test_registry_specs():
    gsm8k = get_benchmark("gsm8k")
    assert (gsm8k.hub_id, gsm8k.hub_configs, gsm8k.split, gsm8k.size) == ("openai/gsm8k", ("main",), "test", 1319)
    assert gsm8k.temperature == 0.2 and gsm8k.metric == "accuracy"
    math = get_benchmark("math")
    assert math.hub_id == "EleutherAI/hendrycks_math" and len(math.hub_configs) == 7 and math.size == 5000
    assert get_benchmark("math500").hub_id == "HuggingFaceH4/MATH-500"
    with pytest.raises(Exception):
        math.size = 1  # frozen


def test_unknown_benchmark_suggests():
    with pytest.raises(BenchmarkError, match="Did you mean 'gsm8k'"):
        get_benchmark("gsm8")
    with pytest.raises(BenchmarkError, match="Known: "):
        get_benchmark("zzzz")


@pytest.mark.parametrize("name, minimum", [("gsm8k", 40), ("math", 40), ("math500", 20)])
def test_fixture_items(name, minimum):
    items = load_items(name)
    assert len(items) >= minimum
    assert len({i["id"] for i in items}) == len(items)
    for item in items:
        assert set(item) == {"id", "question", "answer"}
        assert item["question"].strip() and item["answer"].strip()
    assert load_items(name) == items  # stable


def test_gsm8k_fixture_steps_agree_with_answer():
    # Every "#### n" line must be the result of the last calculator step.
    import re

    rows = [json.loads(line) for line in (fixtures_dir() / "gsm8k.jsonl").read_text().splitlines()]
    for row in rows:
        steps, final = row["answer"].rsplit("####", 1)
        last_value = re.findall(r"<<[^=]+=([^>]+)>>", steps)[-1]
        assert gsm8k_equal(last_value, final), row["question"]


def test_gsm8k_fixture_calculator_annotations_are_right():
    import re

    for line in (fixtures_dir() / "gsm8k.jsonl").read_text().splitlines():
        for expr, value in re.findall(r"<<([^=]+)=([^>]+)>>", json.loads(line)["answer"]):
            assert re.fullmatch(r"[\d.+\-*/ ()]+", expr)
            assert Fraction(str(eval(expr))) == Fraction(value), expr  # noqa: S307 - arithmetic only


def test_math_fixtures_rows_are_in_hub_format():
    for line in (fixtures_dir() / "math.jsonl").read_text().splitlines():
        row = json.loads(line)
        assert set(row) == {"problem", "level", "type", "solution"}
        assert row["level"].startswith("Level ")
    for line in (fixtures_dir() / "math500.jsonl").read_text().splitlines():
        row = json.loads(line)
        assert set(row) == {"problem", "solution", "answer", "subject", "level", "unique_id"}
        assert math_equal(benchmarks.gold_from_math_solution(row["solution"]), row["answer"])


def test_fixtures_keep_a_share_of_very_simple_items():
    simple = [i for i in load_items("gsm8k") if len(i["question"]) < 110 and int(i["answer"]) <= 40]
    assert len(simple) >= 15


def test_limit_is_a_deterministic_ordered_subsample():
    full = load_items("gsm8k")
    some = load_items("gsm8k", limit=10)
    assert len(some) == 10 and some == load_items("gsm8k", limit=10)
    positions = [full.index(item) for item in some]
    assert positions == sorted(positions) and positions != list(range(10))
    assert load_items("gsm8k", limit=10_000) == full
    with pytest.raises(BenchmarkError, match="limit"):
        load_items("gsm8k", limit=0)


def _write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


GSM8K_ROWS = [
    {"question": "Two plus two?", "answer": "2 + 2 = 4\n#### 4"},
    {"question": "How many in total?", "answer": "1,000 + 500 = 1,500\n#### 1,500"},
]


def test_local_jsonl_file_and_folder(tmp_path):
    file = _write_jsonl(tmp_path / "gsm8k.jsonl", GSM8K_ROWS)
    items = load_items("gsm8k", path=file)
    assert items == [
        {"id": "gsm8k/gsm8k/0", "question": "Two plus two?", "answer": "4"},
        {"id": "gsm8k/gsm8k/1", "question": "How many in total?", "answer": "1500"},
    ]
    assert load_items("gsm8k", path=tmp_path) == items


def test_local_json_list_and_parquet(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [{"problem": "What is $1+1$?", "solution": "It is $\\boxed{2}$.", "answer": "2", "subject": "Prealgebra",
             "level": 1, "unique_id": "test/prealgebra/1.json"}]
    (tmp_path / "m.json").write_text(json.dumps(rows))
    assert load_items("math500", path=tmp_path / "m.json") == [
        {"id": "test/prealgebra/1.json", "question": "What is $1+1$?", "answer": "2"}
    ]
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "math500.parquet")
    assert load_items("math500", path=tmp_path)[0]["answer"] == "2"


@pytest.mark.parametrize(
    "content, message",
    [
        ('{"question": "q", "answer": "#### 1"}\n{not json}\n', "line 2 is not valid JSON"),
        ('{"question": "q"}\n', "row 1 lacks field\\(s\\) answer"),
        ('{"question": "q", "answer": "no marker"}\n', "row 1: GSM8K answer has no"),
        ('{"id": "a", "question": "q", "answer": "#### 1"}\n{"id": "a", "question": "r", "answer": "#### 2"}\n',
         "repeats item id 'a'"),
        ("", "no items"),
    ],
)
def test_bad_files_raise_clear_errors(tmp_path, content, message):
    (tmp_path / "gsm8k.jsonl").write_text(content)
    with pytest.raises(BenchmarkError, match=message):
        load_items("gsm8k", path=tmp_path / "gsm8k.jsonl")


def test_missing_paths_and_bad_sources(tmp_path):
    with pytest.raises(BenchmarkError, match="does not exist"):
        load_items("gsm8k", path=tmp_path / "nope.jsonl")
    with pytest.raises(BenchmarkError, match="holds no gsm8k.jsonl"):
        load_items("gsm8k", path=tmp_path)
    (tmp_path / "x.csv").write_text("a,b\n")
    with pytest.raises(BenchmarkError, match="unsupported file type"):
        load_items("gsm8k", path=tmp_path / "x.csv")
    (tmp_path / "bad.parquet").write_text("not parquet")
    with pytest.raises(BenchmarkError, match="parquet"):
        load_items("gsm8k", path=tmp_path / "bad.parquet")
    with pytest.raises(BenchmarkError, match="unknown source"):
        load_items("gsm8k", source="ftp")


def test_missing_fixture_file(monkeypatch, tmp_path):
    monkeypatch.setattr(benchmarks, "fixtures_dir", lambda world=None: tmp_path)
    with pytest.raises(BenchmarkError, match="does not exist"):
        load_items("gsm8k")


@pytest.fixture
def local_hub(tmp_path, monkeypatch):
    """Routes datasets.load_dataset(hub_id, config, split=...) to local files in the hub format."""
    import datasets

    real = datasets.load_dataset
    files = {}
    calls = []

    def fake(hub_id, config=None, *, split):
        calls.append((hub_id, config, split))
        kind, path = files[(hub_id, config)]
        return real(kind, data_files=str(path), split="train", cache_dir=str(tmp_path / "cache"))

    monkeypatch.setattr(datasets, "load_dataset", fake)
    return files, calls


def test_hub_gsm8k_through_datasets(tmp_path, local_hub):
    files, calls = local_hub
    files[("openai/gsm8k", "main")] = ("json", _write_jsonl(tmp_path / "g.jsonl", GSM8K_ROWS))
    items = load_items("gsm8k", source="hub")
    assert calls == [("openai/gsm8k", "main", "test")]
    assert [i["id"] for i in items] == ["gsm8k/main/test/0", "gsm8k/main/test/1"]
    assert [i["answer"] for i in items] == ["4", "1500"]


def test_hub_math_concatenates_subject_configs(tmp_path, local_hub):
    import pyarrow as pa
    import pyarrow.parquet as pq

    files, calls = local_hub
    for subject in BENCHMARKS["math"].hub_configs:
        row = {"problem": f"A {subject} problem?", "level": "Level 1", "type": subject, "solution": "So $\\boxed{1}$."}
        path = tmp_path / f"{subject}.parquet"
        pq.write_table(pa.Table.from_pylist([row]), path)
        files[("EleutherAI/hendrycks_math", subject)] = ("parquet", path)
    items = load_items("math", source="hub", limit=3)
    assert len(calls) == 7 and len(items) == 3
    assert all(i["id"].startswith("math/") and i["id"].endswith("/test/0") for i in items)


def test_hub_without_config_and_hub_errors(tmp_path, local_hub):
    files, calls = local_hub
    rows = [{"problem": "p", "solution": "\\boxed{2}", "answer": "2", "subject": "Algebra", "level": 1,
             "unique_id": "test/algebra/9.json"}]
    files[("HuggingFaceH4/MATH-500", None)] = ("json", _write_jsonl(tmp_path / "m.jsonl", rows))
    assert load_items("math500", source="hub") == [{"id": "math500/default/test/0", "question": "p", "answer": "2"}]
    with pytest.raises(BenchmarkError, match="could not load openai/gsm8k .main. split 'test' from the hub"):
        load_items("gsm8k", source="hub")  # no local file registered: the fake raises KeyError


def test_register_benchmark_extends_the_registry(monkeypatch):
    monkeypatch.setattr(benchmarks, "BENCHMARKS", dict(BENCHMARKS))
    monkeypatch.setattr(benchmarks, "_CONVERTERS", dict(benchmarks._CONVERTERS))
    spec = BenchmarkSpec("toy", "me/toy", (), "test", 1, "accuracy", 0.0, "gsm8k", fields=("q", "a"))
    benchmarks.register_benchmark(spec, lambda row: (row["q"], row["a"]))
    assert get_benchmark("toy") is spec


@pytest.mark.parametrize("name", ["math", "math500"])
def test_math_fixture_golds_parse_with_math_verify(name):
    # An unparsable gold could only ever match a prediction character for character.
    from math_verify import parse

    for item in load_items(name):
        assert parse(f"${item['answer']}$"), item


@pytest.mark.network
@pytest.mark.parametrize("name", ["gsm8k", "math500"])
def test_real_hub_rows_convert(name):
    items = load_items(name, source="hub", limit=5)
    assert len(items) == 5 and all(i["answer"] for i in items)
