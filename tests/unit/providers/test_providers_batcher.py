"""The request batcher alone: grouping by key, batch size limit, errors reach every caller."""

from __future__ import annotations

import asyncio

import pytest

from pytest_agorabench.providers._batcher import Batcher


def test_groups_by_key_and_respects_batch_size():
    calls = []

    def run(items, key):
        calls.append((key, list(items)))
        return [f"{key}:{i}" for i in items]

    batcher = Batcher(run)

    async def main():
        jobs = [batcher.submit(i, "a" if i % 2 else "b", 3, 0.05) for i in range(8)]
        return await asyncio.gather(*jobs)

    results = asyncio.run(main())
    assert results == [f"{'a' if i % 2 else 'b'}:{i}" for i in range(8)]
    assert all(len(items) <= 3 and all((i % 2 == 1) == (key == "a") for i in items) for key, items in calls)
    assert sorted(i for _, items in calls for i in items) == list(range(8))
    assert len(calls) == 4  # 4 "a" + 4 "b" in batches of at most 3


def test_batch_failure_reaches_all_its_callers():
    def run(items, key):
        raise ValueError("model exploded")

    batcher = Batcher(run)

    async def main():
        return await asyncio.gather(*(batcher.submit(i, "k", 8, 0.01) for i in range(3)), return_exceptions=True)

    errors = asyncio.run(main())
    assert all(isinstance(e, ValueError) and "exploded" in str(e) for e in errors)


def test_works_across_successive_event_loops():
    batcher = Batcher(lambda items, key: [i * 2 for i in items])
    assert asyncio.run(batcher.submit(2, "k", 8, 0)) == 4
    assert asyncio.run(batcher.submit(5, "k", 8, 0)) == 10


def test_cancelled_caller_does_not_break_others():
    batcher = Batcher(lambda items, key: list(items))

    async def main():
        doomed = asyncio.ensure_future(batcher.submit("x", "k", 8, 0.05))
        kept = asyncio.ensure_future(batcher.submit("y", "k", 8, 0.05))
        await asyncio.sleep(0)
        doomed.cancel()
        with pytest.raises(asyncio.CancelledError):
            await doomed
        return await kept

    assert asyncio.run(main()) == "y"
