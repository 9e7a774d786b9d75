"""Which rows the student is trained on (AGORABENCH.md section 2)."""

from __future__ import annotations

from pytest_agorabench.settings import Setting


def _pair(row: dict) -> dict:
    return {"id": row["id"], "instruction": row["instruction"], "response": row["response"]}


def training_set(setting: Setting, seed_rows: list[dict], generated_rows: list[dict]) -> list[dict]:
    """Instance generation trains on seed + generated; the other two methods on generated only."""
    rows = [_pair(r) for r in generated_rows]
    if setting.trains_on_seed:
        rows = [_pair(r) for r in seed_rows] + rows
    return rows


def gold_set(seed_rows: list[dict]) -> list[dict]:
    """The 'gold' reference: the student trained on the seed data's own responses."""
    return [_pair(r) for r in seed_rows if r.get("response", "").strip()]
