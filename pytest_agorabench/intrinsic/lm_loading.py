"""Loading a scorer's transformers model from a name: a local alias (smollm2-135m), a directory, or a hub id."""

from __future__ import annotations

from pathlib import Path

from pytest_agorabench.errors import AgoraBenchError


class ScorerModelError(AgoraBenchError, RuntimeError):
    """A scorer's model cannot be loaded; the message says which and why."""


def model_location(name: str | Path) -> str:
    """An offline alias or a directory -> its directory; anything else is passed on as a hub id."""
    from pytest_agorabench.providers.local_models import (
        LOCAL_MODELS,
        LocalModelError,
        resolve_local_model,
    )

    key = str(name).strip()
    if not key:
        raise ScorerModelError("empty model name")
    if key in LOCAL_MODELS or Path(key).expanduser().is_dir():
        try:
            return str(resolve_local_model(key))
        except LocalModelError as exc:
            raise ScorerModelError(str(exc)) from exc
    return key


def load_pretrained(auto_class_name: str, name: str | Path, device: str = "cpu", dtype: str = "float32"):
    """(model in eval mode on ``device``, tokenizer) via transformers' ``auto_class_name``. ``dtype``: float32
    (CPU, exact) or bfloat16 / float16 for large models on a GPU."""
    import torch
    import transformers

    location = model_location(name)
    auto_class = getattr(transformers, auto_class_name)
    torch_dtype = getattr(torch, dtype, None)
    if not isinstance(torch_dtype, torch.dtype):
        raise ScorerModelError(f"unknown dtype {dtype!r}: use float32, bfloat16 or float16")
    try:
        tokenizer = transformers.AutoTokenizer.from_pretrained(location)
        model = auto_class.from_pretrained(location, dtype=torch_dtype).to(device).eval()
    except (OSError, ValueError, KeyError) as exc:
        raise ScorerModelError(f"cannot load {auto_class_name} from {location!r}: {exc}") from exc
    return model, tokenizer
