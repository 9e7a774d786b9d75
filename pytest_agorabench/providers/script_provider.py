"""The ``agora-script`` inspect provider: a Python callable plays the model (scripted generators and judges).

Model strings: ``agora-script/package.module:function`` (imported from ``sys.path``) or
``agora-script/path/to/file.py:function`` (loaded from that file). Dotted attributes work after the colon
(``module:Class.method``).

The callable is called once per request as ``fn(messages, config)`` where ``messages`` is a list of
``{"role": ..., "content": ...}`` dicts and ``config`` the request's GenerateConfig as a dict of the fields that
are set. It returns the completion text, or a dict ``{"text": ..., "stop_reason": ...}``; it may be async.
As with a real API, the text is cut before the first of ``config["stop_seqs"]`` (stop_reason "stop").
Token usage is approximate: whitespace-separated words of the prompt and of the output.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import sys
import time
from pathlib import Path
from typing import Any, Callable

from inspect_ai.model import (
    ChatMessage,
    GenerateConfig,
    ModelAPI,
    ModelCall,
    ModelOutput,
    ModelUsage,
)

from pytest_agorabench.errors import AgoraBenchError

from .local_provider import cut_at_stop

MAX_CONNECTIONS = 32
STOP_REASONS = ("stop", "max_tokens", "model_length", "tool_calls", "content_filter", "unknown")


class ScriptModelError(AgoraBenchError, ValueError):
    """The ``agora-script`` target cannot be imported or returned something unusable."""


def _import_module(module_ref: str, target: str) -> Any:
    if module_ref.endswith(".py"):
        path = Path(module_ref).expanduser().resolve()
        if not path.is_file():
            raise ScriptModelError(f"agora-script/{target}: file {path} does not exist")
        name = "_agora_script_" + hashlib.sha1(str(path).encode()).hexdigest()[:12]
        if name in sys.modules:  # one module object per file, however many models point at it
            return sys.modules[name]
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
        sys.modules[name] = module  # dataclasses and pickling look modules up by name
        spec.loader.exec_module(module)  # type: ignore[union-attr]
        return module
    try:
        return importlib.import_module(module_ref)
    except ModuleNotFoundError as exc:
        raise ScriptModelError(
            f"agora-script/{target}: cannot import module {module_ref!r} ({exc}). "
            "Make it importable (installed, or its folder on sys.path / PYTHONPATH) or give a file path "
            "such as agora-script/path/to/file.py:function."
        ) from exc


def load_callable(target: str) -> Callable[..., Any]:
    """``package.module:function`` or ``path/file.py:function`` -> the callable."""
    module_ref, sep, attr_path = target.partition(":")
    if not sep or not module_ref or not attr_path:
        raise ScriptModelError(
            f"agora-script model {target!r} must look like 'package.module:function' or 'path/file.py:function'"
        )
    obj: Any = _import_module(module_ref, target)
    for attr in attr_path.split("."):
        if not hasattr(obj, attr):
            public = sorted(n for n in dir(obj) if not n.startswith("_") and callable(getattr(obj, n, None)))
            raise ScriptModelError(
                f"agora-script/{target}: {module_ref!r} has no attribute {attr_path!r} "
                f"(callables found: {', '.join(public[:20]) or 'none'})"
            )
        obj = getattr(obj, attr)
    if not callable(obj):
        raise ScriptModelError(f"agora-script/{target}: {attr_path!r} is a {type(obj).__name__}, not callable")
    return obj


def word_count(text: str) -> int:
    return len(text.split())


class ScriptModelAPI(ModelAPI):
    """inspect ModelAPI whose completions come from a user callable (registered as ``agora-script``)."""

    def __init__(
        self,
        model_name: str,
        base_url: str | None = None,
        api_key: str | None = None,
        config: GenerateConfig = GenerateConfig(),
        **model_args: Any,
    ) -> None:
        super().__init__(model_name=model_name, base_url=base_url, api_key=api_key, config=config)
        if model_args:
            raise ValueError(f"agora-script provider takes no model args (got {sorted(model_args)})")
        self.fn = load_callable(model_name)

    def max_connections(self) -> int:
        return MAX_CONNECTIONS

    async def count_text_tokens(self, text: str) -> int:
        # Same approximation as the usage we report; inspect's default would need tiktoken's download.
        return word_count(text)

    async def generate(
        self, input: list[ChatMessage], tools: list[Any], tool_choice: Any, config: GenerateConfig
    ) -> tuple[ModelOutput, ModelCall]:
        messages = [{"role": m.role, "content": m.text} for m in input]
        config_dict = config.model_dump(exclude_none=True)
        start = time.monotonic()
        try:
            result = self.fn(messages, config_dict)
            if inspect.isawaitable(result):
                result = await result
        except Exception as exc:
            raise RuntimeError(
                f"agora-script callable {self.model_name} raised {type(exc).__name__}: {exc}"
            ) from exc
        text, stop_reason = self._unpack(result)
        text, hit_stop = cut_at_stop(text, config.stop_seqs or [])
        if hit_stop:
            stop_reason = "stop"
        elapsed = time.monotonic() - start
        output = ModelOutput.from_content(model=self.model_name, content=text, stop_reason=stop_reason)  # type: ignore[arg-type]
        n_in = sum(word_count(m["content"]) for m in messages)
        n_out = word_count(text)
        output.usage = ModelUsage(input_tokens=n_in, output_tokens=n_out, total_tokens=n_in + n_out)
        output.time = elapsed
        call = ModelCall.create(
            request={"callable": self.model_name, "messages": messages, "config": config_dict},
            response={"text": text, "stop_reason": stop_reason},
            time=elapsed,
        )
        return output, call

    def _unpack(self, result: Any) -> tuple[str, str]:
        if isinstance(result, str):
            return result, "stop"
        if isinstance(result, dict) and isinstance(result.get("text"), str):
            reason = result.get("stop_reason", "stop")
            if reason not in STOP_REASONS:
                raise ScriptModelError(
                    f"agora-script callable {self.model_name} returned stop_reason {reason!r}; "
                    f"use one of {', '.join(STOP_REASONS)}"
                )
            return result["text"], reason
        raise ScriptModelError(
            f"agora-script callable {self.model_name} must return a str or a dict with a 'text' str, "
            f"got {type(result).__name__}"
        )
