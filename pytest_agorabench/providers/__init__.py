"""Our in-process inspect-ai model providers and offline local models.

``agora/<name or checkpoint dir>`` serves a transformers causal LM in-process (local_provider.py);
``agora-script/<module:function>`` makes a Python callable play the model (script_provider.py). Both are
registered with inspect through the ``inspect_ai`` entry point (_registry.py). Attributes load lazily so that
importing this package pulls in neither inspect nor torch.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "LocalModelError": "local_models",
    "model_cache_root": "local_models",
    "resolve_local_model": "local_models",
    "smollm2_dir": "local_models",
    "LocalModelAPI": "local_provider",
    "get_engine": "local_provider",
    "ScriptModelAPI": "script_provider",
    "ScriptModelError": "script_provider",
    "load_callable": "script_provider",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
