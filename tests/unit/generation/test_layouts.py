"""Layouts (generation/layouts.py): the grammar admits only text that the layout's own parser splits into
the fields it was built from, and that the domain validators accept; what it refuses, it refuses."""

from __future__ import annotations

import json
import random
import re

import pytest

from pytest_agorabench.generation.cleanup import clean
from pytest_agorabench.generation.layouts import (
    FAMILIES,
    Parsed,
    Slot,
    layout_for,
    pieces_of_grammar,
)
from pytest_agorabench.generation.validators import validate
from pytest_agorabench.settings import SETTINGS, Method
from tests.unit.generation.byte_tokenizer import byte_level_tokenizer, ll_tokenizer

llguidance = pytest.importorskip("llguidance")
LAYOUTS = [layout_for(f, s) for f in FAMILIES for s in SETTINGS]
# Text a slot may hold: near misses of every marker, brackets, fences' pieces, newlines, quotes, backslashes.
WORDS = ["x = 1", " ", "\n", "Output", "OUTPUT", "INPUT", ":", "[", "]", "RESULT", "/", "``", "`", "END",
         '"', "\\", "Revised", "Answer", "é", "\t", "42", "<input", ">", "Note:", "{", "}"]


@pytest.fixture(scope="module")
def tokenizers():
    hf = byte_level_tokenizer()
    return hf, ll_tokenizer(hf)


def accepts(tokenizers, grammar: str, text: str) -> bool:
    hf, ll = tokenizers
    matcher = llguidance.LLMatcher(ll, grammar)
    assert not matcher.is_error(), matcher.get_error()
    ids = hf.encode(text, add_special_tokens=False)
    return matcher.try_consume_tokens(ids) == len(ids) and matcher.is_accepting()


def fill(slot: Slot, rng: random.Random) -> str:
    """Random slot text that respects the slot's limits (the grammar must accept it)."""
    while True:
        text = "".join(rng.choice(WORDS) for _ in range(rng.randint(1, 12)))
        if slot.chars is not None:
            text = "".join(c for c in text if re.fullmatch(slot.chars, c))
        if text.strip() and re.search(r"[A-Za-z0-9]", text) and not any(f in text for f in slot.forbid):
            return text


def sample(layout, rng: random.Random) -> tuple[str, dict[str, str]]:
    """One output the layout allows, written field by field, and the fields' expected texts."""
    pieces, expected = [], {}
    for k, field in enumerate(layout.fields):
        body = "".join(p if isinstance(p, str) else fill(p, rng) for p in field.body)
        expected[field.name] = body.strip()
        pieces.append((field, body))
    if layout.family == "json":
        return json.dumps({f.name: body for f, body in pieces}, ensure_ascii=False), expected
    out = ""
    for k, (field, body) in enumerate(pieces):
        if field.marker is not None and not field.in_prompt:
            out += ("\n" if k else "") + field.marker + " "
        out += body
    return out + layout.end, expected


@pytest.mark.parametrize("layout", LAYOUTS, ids=lambda l: l.key)
def test_every_grammar_accepted_string_parses_to_its_fields_and_validates(layout, tokenizers):
    grammar = layout.grammar()
    rng = random.Random(layout.key)
    seed_row = {"instruction": "Seed question?"}
    for _ in range(25):
        text, expected = sample(layout, rng)
        assert accepts(tokenizers, grammar, text), text
        assert layout.fits(text) and (layout.family == "json" or layout.fits(text.removesuffix("[END]")))
        parsed = layout.parse(text, seed_row)
        assert isinstance(parsed, Parsed), (text, parsed)
        assert parsed.response == expected["response"]
        assert parsed.instruction == expected.get("instruction", "Seed question?")
        response, _ = clean(layout.setting.domain.value, parsed.response)
        assert validate(layout.setting.domain.value, parsed.instruction, response) is None, text


@pytest.mark.parametrize("layout", LAYOUTS, ids=lambda l: l.key)
def test_the_grammar_refuses_markers_inside_a_field_and_a_missing_end(layout, tokenizers):
    grammar = layout.grammar()
    text, _ = sample(layout, random.Random(1))
    leaked = text.replace("x = 1", "x = 1 OUTPUT: 2", 1) if "x = 1" in text else None
    if leaked is not None and leaked != text:
        assert not accepts(tokenizers, grammar, leaked) and not layout.fits(leaked)
    cut = text[:-1] if layout.family == "json" else text[:-len("\n[END]")] + "[END]"
    assert not accepts(tokenizers, grammar, cut) and not layout.fits(cut)  # the closing literals are required
    first = layout.fields[0]
    if layout.family == "json" or (first.marker is not None and not first.in_prompt):
        # no preamble before the first marker
        assert not accepts(tokenizers, grammar, "Sure! " + text) and not layout.fits("Sure! " + text)


def test_math_and_code_grammars_require_the_domain_shape(tokenizers):
    math = layout_for("text", next(s for s in SETTINGS if s.key == "math/response_generation"))
    assert accepts(tokenizers, math.grammar(), "2+2=4\n[RESULT] 4 [/RESULT] [END]")
    assert not accepts(tokenizers, math.grammar(), "2+2=4, so 4. [END]")
    assert not accepts(tokenizers, math.grammar(), "[RESULT] 3 [/RESULT]\n[RESULT] 4 [/RESULT] [END]")
    code = layout_for("text", next(s for s in SETTINGS if s.key == "code/response_generation"))
    assert accepts(tokenizers, code.grammar(), "```python\ndef f():\n    return 1\n``` [END]")
    assert not accepts(tokenizers, code.grammar(), "Here is the code: def f(): pass [END]")


def test_grammar_to_pieces_lookup_is_exact():
    for layout in LAYOUTS:
        assert pieces_of_grammar(layout.grammar()) == (layout.pieces(), layout.family)
    assert pieces_of_grammar("start: /x/") is None


@pytest.mark.parametrize("layout", [l for l in LAYOUTS if l.family == "json"], ids=lambda l: l.key)
def test_json_schema_has_the_parser_keys_and_admits_what_the_grammar_writes(layout):
    schema = layout.json_schema()
    names = [f.name for f in layout.fields]
    assert schema["required"] == names and schema["additionalProperties"] is False
    assert names == (["response"] if layout.setting.method is Method.RESPONSE_GENERATION else ["instruction", "response"])
    rng = random.Random(3)
    for _ in range(10):
        text, _ = sample(layout, rng)
        value = json.loads(text)
        for name in names:
            assert re.search(schema["properties"][name]["pattern"], value[name]), value[name]


def test_text_family_has_no_schema():
    with pytest.raises(ValueError, match="json family"):
        LAYOUTS[0].json_schema()


def test_the_layout_parsers_read_a_table_as_the_parsers_before_them_did():
    """parse_table.jsonl: outputs dense in markers, fences and JSON, with what the hand-written parsers of
    commit 3c0f991 returned (fields, or the drop reason's key). The layouts' parsers must agree on every row."""
    from pathlib import Path

    from pytest_agorabench.generation.parse import parse_json_output, parse_output

    rows = [json.loads(line) for line in (Path(__file__).parent / "data" / "parse_table.jsonl").read_text().splitlines()]
    assert len(rows) == 300
    for row in rows:
        parse = parse_output if row["family"] == "text" else parse_json_output
        got = parse(Method(row["method"]), row["text"], {"instruction": "Seed?"})
        got = got.split(":")[0] if isinstance(got, str) else [got.instruction, got.response, got.fence_stripped]
        assert got == row["expected"], row
