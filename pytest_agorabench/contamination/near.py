"""Near copies: a generated text whose token set, numbers masked, is close to a benchmark text's
(Jaccard >= ``threshold``), found through datasketch's MinHash LSH and then confirmed by the exact Jaccard
of the two sets (so the LSH can miss a pair with a small probability but never reports a false one).

Masking the numbers lets a GSM8K question with its numbers changed, or its words reordered, still match.
A short text (under ``n`` tokens) is mostly template ("what is <n> + <n>"), so there the numbers must also
be the same multiset: "What is 4 + 3?" is a near copy of "What is 3 + 4?", "What is 5 + 3?" is not.
"""

from __future__ import annotations

from dataclasses import dataclass

from pytest_agorabench.contamination.normalize import masked, numbers

# LSH bands are tuned below the confirmation threshold, so pairs just above it are rarely missed.
LSH_SLACK = 0.1


@dataclass(frozen=True)
class NearHit:
    text: int
    jaccard: float


def _minhashes(sets: list[frozenset[str]], num_perm: int, seed: int):
    from datasketch import MinHash

    # bulk: one hashing pass per set (several times faster than update() per token)
    return MinHash.bulk([[t.encode() for t in s] for s in sets], num_perm=num_perm, seed=seed)


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 0.0


class NearIndex:
    def __init__(self, texts: list[tuple[str, ...]], n: int, min_tokens: int, threshold: float, num_perm: int,
                 seed: int):
        from datasketch import MinHashLSH

        self.n, self.min_tokens, self.threshold, self.num_perm, self.seed = n, min_tokens, threshold, num_perm, seed
        self.keep = [i for i, t in enumerate(texts) if len(t) >= min_tokens]
        self.sets = {i: masked(texts[i]) for i in self.keep}
        self.numbers = {i: numbers(texts[i]) for i in self.keep}
        self.short = {i for i in self.keep if len(texts[i]) < n}
        self.lsh = MinHashLSH(threshold=max(0.05, threshold - LSH_SLACK), num_perm=num_perm)
        with self.lsh.insertion_session() as session:
            for i, mh in zip(self.keep, _minhashes([self.sets[i] for i in self.keep], num_perm, seed)):
                session.insert(i, mh, check_duplication=False)

    def hits_many(self, queries: list[tuple[str, ...]]) -> list[list[NearHit]]:
        """For each query text, the benchmark texts it nearly copies."""
        out: list[list[NearHit]] = [[] for _ in queries]
        todo = [q for q, toks in enumerate(queries) if len(toks) >= self.min_tokens]
        sets = [masked(queries[q]) for q in todo]
        for q, qset, mh in zip(todo, sets, _minhashes(sets, self.num_perm, self.seed)):
            for i in self.lsh.query(mh):
                score = jaccard(qset, self.sets[i])
                if score < self.threshold:
                    continue
                if i in self.short and numbers(queries[q]) != self.numbers[i]:
                    continue
                out[q].append(NearHit(i, score))
        return out
