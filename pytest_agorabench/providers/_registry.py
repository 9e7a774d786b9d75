"""inspect-ai entry point (group ``inspect_ai``): registers our providers ``agora`` and ``agora-script``.

inspect imports this module the first time it meets a provider name it does not know. The factories import
the provider modules (and through them torch and transformers) only when a model is actually created, so
importing this module stays cheap.
"""

from __future__ import annotations

from inspect_ai.model import modelapi


@modelapi(name="agora")
def agora():  # noqa: ANN201 - inspect calls this to get the ModelAPI class
    from .local_provider import LocalModelAPI

    return LocalModelAPI


@modelapi(name="agora-script")
def agora_script():  # noqa: ANN201
    from .script_provider import ScriptModelAPI

    return ScriptModelAPI


# Registers the ``agora`` sandbox (sandbox/inspect_env.py) for tasks that run code, such as `inspect eval`.
from pytest_agorabench.sandbox import inspect_env as _agora_sandbox  # noqa: E402,F401
