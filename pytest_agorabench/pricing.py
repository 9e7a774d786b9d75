"""Prices of generator tokens: the aliases' list prices plus the user's own table (AGORABENCH.md 7).

A user table maps a model (an alias such as ``gpt-4o`` or an inspect model string such as
``openai/gpt-4o-2024-08-06`` or ``vllm/org/model``) to USD per million input and output tokens:

    [tool.agorabench.prices]                # pyproject.toml
    "vllm/acme/gen-7b" = { input = 0.20, output = 0.20 }
    gpt-4o = { input = 1.25, output = 5.00 }  # a negotiated rate overrides the alias's list price

or the same mapping in a JSON/TOML file given with ``--agora-prices``. Entries of the file win over
pyproject's. Self-hosted models can be given the price of their GPU hours per token this way.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import tomllib

from pytest_agorabench.errors import AgoraBenchError
from pytest_agorabench.models import ALIASES, ModelSpec, resolve_model

PriceTable = dict[str, tuple[float, float]]  # model -> (USD per 1M input, USD per 1M output)


class PriceError(AgoraBenchError, ValueError):
    """A price table that cannot be used; the message names the entry."""


def _price(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise PriceError(f"{where}: expected a non-negative number of USD per million tokens, got {value!r}")
    return float(value)


def parse_table(raw: Any, source: str) -> PriceTable:
    if not isinstance(raw, Mapping):
        raise PriceError(f"{source}: expected a table of model = {{ input = ..., output = ... }}")
    table: PriceTable = {}
    for model, entry in raw.items():
        where = f"{source}: {model!r}"
        if not isinstance(entry, Mapping) or set(entry) != {"input", "output"}:
            raise PriceError(f"{where}: expected exactly the keys input and output (USD per million tokens)")
        table[str(model).strip()] = (_price(entry["input"], f"{where} input"), _price(entry["output"], f"{where} output"))
    return table


def load_table(path: Path) -> PriceTable:
    """A JSON (``.json``) or TOML (anything else) file holding a price table, checked entry by entry."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PriceError(f"--agora-prices: cannot read {path} ({exc})") from None
    try:
        raw = json.loads(text) if Path(path).suffix == ".json" else tomllib.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        raise PriceError(f"--agora-prices: {path} is not valid {'JSON' if Path(path).suffix == '.json' else 'TOML'} ({exc})") from None
    # A TOML file may hold the table at top level or under [prices].
    if isinstance(raw, dict) and set(raw) == {"prices"}:
        raw = raw["prices"]
    return parse_table(raw, str(path))


def priced_model(name: str, table: Mapping[str, tuple[float, float]] | None = None) -> ModelSpec:
    """``resolve_model(name)`` with the user's price where the table names the model (by what the user
    typed or by its inspect model string)."""
    spec = resolve_model(name)
    # What was typed first, then the inspect string, then an alias that points at the same model.
    aliases = [alias for alias, target in ALIASES.items() if target.inspect_model == spec.inspect_model]
    for key in (spec.name, spec.inspect_model, *aliases):
        if table and key in table:
            usd_in, usd_out = table[key]
            return dataclasses.replace(spec, usd_per_1m_input=usd_in, usd_per_1m_output=usd_out)
    return spec
