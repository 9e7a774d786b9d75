"""The one chat format shared by training and evaluation (AGORABENCH.md section 3 and 4).

Importing this module is free: no torch, no transformers.
"""

from __future__ import annotations

from collections.abc import Mapping

SYSTEM_PROMPT = "You are a helpful AI assistant."

# Special tokens of the tiny student's ChatML-style format.
IM_START = "<|im_start|>"
IM_END = "<|im_end|>"  # end of turn, and the eos the student learns to emit
PAD = "<|pad|>"
SPECIAL_TOKENS = [PAD, IM_START, IM_END]

# The assistant's content and its end-of-turn token sit inside {% generation %} so that
# apply_chat_template(..., return_assistant_tokens_mask=True) marks exactly what the loss is
# taken on; the end token is included or the student would never learn to stop.
CHAT_TEMPLATE = (
    "{%- for message in messages -%}"
    "{%- if message['role'] == 'assistant' -%}"
    "{{ '<|im_start|>assistant\\n' }}"
    "{% generation %}{{ message['content'] + '<|im_end|>' }}{% endgeneration %}"
    "{{ '\\n' }}"
    "{%- else -%}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{%- endif -%}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{ '<|im_start|>assistant\\n' }}{%- endif -%}"
)


def prompt_messages(instruction: str, system: str = SYSTEM_PROMPT) -> list[dict[str, str]]:
    """System line + user turn: what the student sees at evaluation time."""
    return [{"role": "system", "content": system}, {"role": "user", "content": instruction}]


def to_messages(row: Mapping[str, object], system: str = SYSTEM_PROMPT) -> list[dict[str, str]]:
    """A training row as a conversation: system line, user = instruction, assistant = response."""
    return [
        *prompt_messages(str(row.get("instruction") or ""), system),
        {"role": "assistant", "content": str(row.get("response") or "")},
    ]
