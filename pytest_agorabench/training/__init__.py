"""Training stage: fine-tune the student on a training set (trl SFTTrainer, accelerate for multi-GPU).

Importing this package is cheap; torch, transformers and trl load on first use of `train` or
`build_tiny_student`.
"""

from __future__ import annotations

from typing import Any

from pytest_agorabench.training.chat import SYSTEM_PROMPT, prompt_messages, to_messages
from pytest_agorabench.training.recipes import RECIPES, Lora, Recipe, get_recipe

__all__ = [
    "RECIPES",
    "SYSTEM_PROMPT",
    "Lora",
    "Recipe",
    "build_tiny_student",
    "get_recipe",
    "prompt_messages",
    "to_messages",
    "train",
]


def __getattr__(name: str) -> Any:
    # Lazy so that `import pytest_agorabench.training` does not import torch.
    if name == "train":
        from pytest_agorabench.training.sft import train

        return train
    if name == "build_tiny_student":
        from pytest_agorabench.training.tiny_student import build_tiny_student

        return build_tiny_student
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
