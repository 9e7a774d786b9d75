"""User price tables over the aliases' list prices (AGORABENCH.md 7)."""

import json

import pytest

from pytest_agorabench.pricing import PriceError, load_table, parse_table, priced_model


def test_aliases_keep_their_list_prices_without_a_table():
    spec = priced_model("gpt-4o")
    assert (spec.usd_per_1m_input, spec.usd_per_1m_output) == (2.50, 10.00)
    assert spec.cost(1_000_000, 100_000) == pytest.approx(3.50)


def test_a_table_entry_overrides_by_alias_or_by_inspect_string():
    table = parse_table({"gpt-4o": {"input": 1.25, "output": 5}, "vllm/acme/gen-7b": {"input": 0.2, "output": 0.3}}, "t")
    assert priced_model("gpt-4o", table).cost(1_000_000, 1_000_000) == pytest.approx(6.25)
    # The full inspect string of the alias's target also picks up the alias's user price.
    assert priced_model("openai/gpt-4o-2024-08-06", table).usd_per_1m_input == 1.25
    local = priced_model("vllm/acme/gen-7b", table)
    assert local.priced and local.cost(2_000_000, 1_000_000) == pytest.approx(0.7)
    assert not priced_model("vllm/acme/other", table).priced


@pytest.mark.parametrize(
    "raw, message",
    [
        ([1, 2], "expected a table"),
        ({"m/x": {"input": 1}}, "exactly the keys input and output"),
        ({"m/x": {"input": -1, "output": 1}}, "non-negative"),
        ({"m/x": {"input": "cheap", "output": 1}}, "non-negative"),
        ({"m/x": {"input": float("nan"), "output": 1}}, "non-negative"),
        ({"m/x": {"input": True, "output": 1}}, "non-negative"),
    ],
)
def test_bad_tables_name_the_entry(raw, message):
    with pytest.raises(PriceError, match=message):
        parse_table(raw, "prices.toml")


def test_json_and_toml_files(tmp_path):
    js = tmp_path / "p.json"
    js.write_text(json.dumps({"m/a": {"input": 1, "output": 2}}))
    toml = tmp_path / "p.toml"
    toml.write_text('[prices]\n"m/b" = { input = 0.5, output = 0.25 }\n')
    flat = tmp_path / "flat.toml"
    flat.write_text('"m/c" = { input = 3, output = 4 }\n')
    assert load_table(js) == {"m/a": (1.0, 2.0)}
    assert load_table(toml) == {"m/b": (0.5, 0.25)}
    assert load_table(flat) == {"m/c": (3.0, 4.0)}
    bad = tmp_path / "bad.json"
    bad.write_text("{nope")
    with pytest.raises(PriceError, match="not valid JSON"):
        load_table(bad)
    with pytest.raises(PriceError, match="cannot read"):
        load_table(tmp_path / "missing.toml")
