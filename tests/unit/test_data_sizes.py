"""--agora-sizes (pipeline/data_sizes.py): the option's checks, the prefixes of a generation run and their
measured cost."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_agorabench.config import ConfigError, build_config
from pytest_agorabench.pipeline.data_sizes import instance_index, prefix, prefix_cost


def _config(tmp_path: Path, **cli):
    return build_config({"store": str(tmp_path / "store"), **cli}, {}, tmp_path)


def test_sizes_are_parsed_and_the_largest_sets_instances_when_none_is_given(tmp_path):
    assert _config(tmp_path, sizes="20, 40,80").sizes == (20, 40, 80)
    assert _config(tmp_path, sizes="20,40,80").instances == 80
    assert _config(tmp_path, sizes="20,40", instances=40).sizes == (20, 40)
    assert _config(tmp_path).sizes is None


@pytest.mark.parametrize(
    ("cli", "message"),
    [
        ({"sizes": "20,x"}, "'x' is not a positive integer"),
        ({"sizes": "0,10"}, "'0' is not a positive integer"),
        ({"sizes": "20,-5"}, "'-5' is not a positive integer"),
        ({"sizes": "20,,40"}, "'' is not a positive integer"),
        ({"sizes": "40,20"}, "strictly increasing"),
        ({"sizes": "20,20"}, "strictly increasing"),
        ({"sizes": "20,100", "instances": 80}, r"largest size \(100\) must equal --instances \(80\)"),
        ({"sizes": "20,40", "instances": 80}, r"largest size \(40\) must equal --instances \(80\)"),
        ({"sizes": "20,40", "budget_usd": 1.0, "generator": "gpt-4o"}, "cannot be combined with --agora-budget"),
    ],
)
def test_bad_sizes_are_refused_with_a_clear_message(tmp_path, cli, message):
    with pytest.raises(ConfigError, match=message) as err:
        _config(tmp_path, **cli)
    assert "--agora-sizes" in str(err.value)


def test_a_run_without_sizes_reports_the_config_it_always_did(tmp_path):
    assert "sizes" not in _config(tmp_path).summary()
    assert _config(tmp_path, sizes="5,10").summary()["sizes"] == (5, 10)


def _row(i: int, tokens_in: int, tokens_out: int, dropped: bool = False) -> dict:
    row = {"id": f"gen-{i:05d}", "input_tokens": tokens_in, "output_tokens": tokens_out}
    return {**row, "dropped": "leak: x"} if dropped else {**row, "instruction": "q", "response": "a"}


def test_a_prefix_is_the_first_instances_by_index_and_keeps_the_order():
    rows = [_row(i, 1, 1) for i in (0, 2, 3, 7, 12)]
    assert [instance_index(r) for r in rows] == [0, 2, 3, 7, 12]
    assert prefix(rows, 4) == rows[:3]  # instance 1 was dropped: 4 requested, 3 valid
    assert prefix(rows, 13) == rows
    assert prefix(rows, 0) == []


def test_a_prefix_costs_the_tokens_of_every_attempt_of_its_instances_dropped_ones_included(tmp_path):
    accepted = [_row(0, 1_000_000, 0), _row(2, 0, 1_000_000)]
    dropped = [_row(1, 2_000_000, 1_000_000, dropped=True)]
    config = _config(tmp_path, generator="gpt-4o")  # 2.50 / 10.00 USD per million input / output tokens
    got = prefix_cost(prefix(accepted, 2), prefix(dropped, 2), config)
    assert got == {"input_tokens": 3_000_000, "output_tokens": 1_000_000, "cost_usd": pytest.approx(17.5)}
    assert prefix_cost(accepted, dropped, config)["cost_usd"] == pytest.approx(27.5)
    unpriced = _config(tmp_path, generator="mockllm/model")
    assert prefix_cost(accepted, dropped, unpriced)["cost_usd"] is None


def test_junit_properties_carry_pgr_and_cost_per_size():
    from pytest_agorabench.result import CaseResult
    from tests.unit.report.nine_cases import case

    data = case("math/response_generation", 50.0)
    plain = CaseResult.from_dict({k: v for k, v in data.items() if k not in ("outcome", "nodeid")})
    assert not any(name.startswith("size_") for name, _ in plain.junit_properties())
    pgr = {**data["pgr"], "point": 12.5, "low": 2.0, "high": 20.0}
    plain.sizes = [{"instances": 20, "pgr": pgr, "cost_usd": 0.25}, {"instances": 40, "pgr": data["pgr"], "cost_usd": None}]
    props = dict(plain.junit_properties())
    assert (props["size_20_pgr"], props["size_20_pgr_low"], props["size_20_pgr_high"]) == ("12.50", "2.00", "20.00")
    assert props["size_20_cost_usd"] == "0.250000" and props["size_40_cost_usd"] == "unpriced"
    assert "sizes" in plain.to_dict() and "sizes" not in CaseResult.from_dict(plain.to_dict() | {"sizes": None}).to_dict()


def test_with_decontaminate_drop_a_prefix_trains_without_its_flagged_rows_and_still_pays_for_them(tmp_path, monkeypatch):
    """The largest prefix must be the case's own training set: under --agora-decontaminate=drop that set has
    no flagged row, so neither has any prefix; the flagged rows count as the prefix's drops and their tokens
    stay in its cost (the generator was paid for them)."""
    from pytest_agorabench.files import write_jsonl
    from pytest_agorabench.metrics.pgr import Estimate
    from pytest_agorabench.pipeline import data_sizes
    from pytest_agorabench.pipeline.keys import Clock
    from pytest_agorabench.settings import get_setting
    from pytest_agorabench.store import Store

    generated = [_row(i, 10, 1) for i in (0, 1, 2, 4, 5)]
    dropped = [_row(3, 10, 1, dropped=True)]
    kept = [r for r in generated if r["id"] not in ("gen-00001", "gen-00005")]  # 1 and 5 copied a benchmark
    config = _config(tmp_path, generator="gpt-4o", sizes="3,6", decontaminate="drop")
    store = Store(config.store_dir)

    def build(workdir, key):
        write_jsonl(workdir / "rows.jsonl", generated)
        write_jsonl(workdir / "dropped.jsonl", dropped)

    generation = store.once("generation", {"test": "sizes"}, build)
    trained_on = []

    def student(store, setting, train_rows, *args):
        trained_on.append([r["id"] for r in train_rows])
        return Estimate(10.0, 5.0, 15.0, None, 1), f"key-{len(train_rows)}", None

    monkeypatch.setattr(data_sizes, "_prefix_student", student)
    setting = get_setting("math/instance_generation")
    sizes = data_sizes.measure_sizes(store, setting, [], generation, kept, "base", None, ["gsm8k"], config, Clock(), None)
    assert trained_on == [["gen-00000", "gen-00002"], ["gen-00000", "gen-00002", "gen-00004"]]
    assert [(s["valid"], s["dropped"]) for s in sizes] == [(2, 1), (3, 3)]
    assert [s["input_tokens"] for s in sizes] == [30, 60]  # every instance of the prefix, flagged or dropped
