"""The contamination check's cost at the paper's sizes, as a ratio against a plain set intersection.

Baseline: the obvious 13-gram check (lowercase, split on spaces, the set of every benchmark text's 13-grams,
then each generated text's 13-gram set intersected with it): the GPT-3 rule and nothing else. Measured:
pytest_agorabench.contamination.check (normalized tokens, the 13-gram rule, whole-text containment for short
items, MinHash LSH near copies with exact confirmation), on the same texts in the same process.

The texts are synthetic (the hub's benchmarks are not read offline): 10,000 generated rows (instruction
about 40 words, response about 150) and per domain the full benchmarks' item counts with their usual
lengths: math GSM8K 1,319 + MATH 5,000 (short final answers), code MBPP 500 + HumanEval 164 (code answers),
instruction following AlpacaEval 805 + Arena-Hard 500 (long reference answers). Words come from a Zipf
vocabulary with numbers mixed in; 1 % of the rows copy an item verbatim, so the matching path is exercised.

The near-copy search is also timed against exact all-pairs Jaccard on a slice of rows (``--pairs-rows``),
extrapolated to all rows: that is the measurement behind using datasketch's LSH.

    python bench/contamination_cost.py                       # all three domains, 10,000 rows
    python bench/contamination_cost.py --rows 2000 --domains math
"""

from __future__ import annotations

import argparse
import itertools
import random
import time

from pytest_agorabench.contamination import Rule, check
from pytest_agorabench.contamination.near import NearIndex, jaccard
from pytest_agorabench.contamination.normalize import masked, tokens

# items and (question words, answer words) per benchmark, at the full benchmarks' sizes
DOMAINS = {
    "math": {"gsm8k": (1319, 45, 1), "math": (5000, 35, 2)},
    "code": {"mbpp": (500, 15, 60), "humaneval": (164, 60, 80)},
    "instruction_following": {"alpacaeval2": (805, 20, 250), "arena_hard": (500, 80, 400)},
}


def _word(i: int) -> str:
    """Letters only: a digit inside a word would split it into a word and a number when normalized."""
    out = ""
    while True:
        out, i = chr(97 + i % 26) + out, i // 26
        if not i:
            return out + "e"


VOCAB = [_word(i) for i in range(20000)]
ZIPF = list(itertools.accumulate(1 / (rank + 1) for rank in range(len(VOCAB))))  # word i has weight 1/(i+1)


def words(rng: random.Random, vocab: list[str], n: int) -> str:
    picked = rng.choices(vocab, cum_weights=ZIPF, k=n)
    return " ".join(str(rng.randint(0, 999)) if rng.random() < 0.08 else w for w in picked)


def world(domain: str, rows: int, seed: int):
    rng = random.Random(seed)
    vocab = VOCAB
    bench = {name: [{"id": f"{name}/{i}", "question": words(rng, vocab, q), "answer": words(rng, vocab, a)}
                    for i in range(n)] for name, (n, q, a) in DOMAINS[domain].items()}
    flat = [item for items in bench.values() for item in items]
    generated = []
    for i in range(rows):
        if i % 100 == 0:  # a verbatim copy
            item = rng.choice(flat)
            generated.append({"id": f"r{i}", "instruction": item["question"], "response": words(rng, vocab, 150)})
        else:
            generated.append({"id": f"r{i}", "instruction": words(rng, vocab, 40), "response": words(rng, vocab, 150)})
    return bench, generated


def plain_set_intersection(rows, bench, n: int = 13) -> int:
    grams = set()
    for items in bench.values():
        for item in items:
            for field in ("question", "answer"):
                t = item[field].lower().split()
                grams.update(tuple(t[i:i + n]) for i in range(len(t) - n + 1))
    flagged = 0
    for row in rows:
        for field in ("instruction", "response"):
            t = row[field].lower().split()
            if {tuple(t[i:i + n]) for i in range(len(t) - n + 1)} & grams:
                flagged += 1
                break
    return flagged


def timed(fn, *args):
    start = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - start


def near_search_comparison(rows, bench, rule: Rule, slice_rows: int) -> tuple[float, float]:
    """(LSH seconds, exact all-pairs seconds): the queries of the first ``slice_rows`` rows, scaled to all rows."""
    texts = [tokens(item[f]) for items in bench.values() for item in items for f in ("question", "answer")]
    part = [tokens(r[f]) for r in rows[:slice_rows] for f in ("instruction", "response")]
    start = time.perf_counter()
    index = NearIndex(texts, rule.n, rule.min_tokens, rule.near_threshold, rule.num_perm, rule.seed)
    built = time.perf_counter()
    index.hits_many(part)
    build, query = built - start, time.perf_counter() - built
    start = time.perf_counter()
    sets = [masked(t) for t in texts]
    for q in part:
        qs = masked(q)
        [s for s in sets if jaccard(qs, s) >= rule.near_threshold]
    brute = time.perf_counter() - start
    scale = len(rows) / slice_rows
    return build + query * scale, brute * scale  # the index is built once, the queries scale with the rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--domains", nargs="+", default=list(DOMAINS), choices=list(DOMAINS))
    parser.add_argument("--pairs-rows", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rule = Rule()
    print(f"{'domain':<22} {'items':>6} {'baseline s':>10} {'check s':>8} {'ratio':>6} {'flagged':>8} "
          f"{'near':>5} {'LSH s':>7} {'all-pairs s':>11}")
    for domain in args.domains:
        bench, rows = world(domain, args.rows, args.seed)
        base_flagged, base_s = timed(plain_set_intersection, rows, bench)
        (report, _), ours_s = timed(check, rows, bench, rule)
        lsh_s, brute_s = near_search_comparison(rows, bench, rule, args.pairs_rows)
        items = sum(len(v) for v in bench.values())
        print(f"{domain:<22} {items:>6} {base_s:>10.2f} {ours_s:>8.2f} {ours_s / base_s:>6.1f} "
              f"{report['rows_flagged']:>8} {report['near_copies']:>5} {lsh_s:>7.1f} {brute_s:>11.1f}")
        assert report["rows_flagged"] >= base_flagged, "the check must flag every row the baseline flags"
    print(f"ratio = check seconds / plain 13-gram set intersection seconds ({args.rows} rows, full benchmark "
          "sizes); LSH vs all-pairs: the near-copy search alone, extrapolated from --pairs-rows rows")


if __name__ == "__main__":
    main()
