"""A tiny random Llama checkpoint with a word-level tokenizer and a chat template, built once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

SENTENCES = [
    "the cat sat on the mat and the dog ran in the park",
    "what is two plus three the answer is five",
    "write a short story about a red fox and a blue bird",
    "numbers one two three four five six seven eight nine ten",
    "please explain why the sky is blue in one sentence",
]
SPECIALS = ["<pad>", "<unk>", "<bos>", "<eos>", "<|system|>", "<|user|>", "<|assistant|>"]
CHAT_TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|> {{ m['content'] }} {% endfor %}"
    "{% if add_generation_prompt %}<|assistant|> {% endif %}"
)


def build_tiny_checkpoint(path: Path, chat_template: str | None = CHAT_TEMPLATE) -> Path:
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    raw = Tokenizer(models.WordLevel(unk_token="<unk>"))
    raw.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    raw.train_from_iterator(SENTENCES, trainers.WordLevelTrainer(special_tokens=SPECIALS))
    tok = PreTrainedTokenizerFast(
        tokenizer_object=raw, pad_token="<pad>", unk_token="<unk>", bos_token="<bos>", eos_token="<eos>"
    )
    if chat_template:
        tok.chat_template = chat_template
    return _save_random_llama(path, tok, max_positions=512, bos=True, pin_eos=True)


def _save_random_llama(path: Path, tok, *, max_positions: int, bos: bool, pin_eos: bool) -> Path:
    """A 2-layer random Llama over ``tok``, saved with it. ``pin_eos``: EOS logit pinned at 0 so greedy decoding
    practically never ends early and max_tokens tests stay exact."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(
        vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, max_position_embeddings=max_positions, eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id, tie_word_embeddings=False,
        **({"bos_token_id": tok.bos_token_id} if bos else {}),
    )
    torch.manual_seed(0)
    model = LlamaForCausalLM(config)
    if pin_eos:
        with torch.no_grad():
            model.lm_head.weight[tok.eos_token_id].zero_()
    model.generation_config.eos_token_id = tok.eos_token_id
    model.generation_config.pad_token_id = tok.pad_token_id
    model.save_pretrained(str(path))
    tok.save_pretrained(str(path))
    return path


@pytest.fixture(scope="session")
def tiny_dir(tmp_path_factory) -> Path:
    return build_tiny_checkpoint(tmp_path_factory.mktemp("tiny-llama"))


@pytest.fixture(scope="session")
def tiny_dir_no_template(tmp_path_factory) -> Path:
    return build_tiny_checkpoint(tmp_path_factory.mktemp("tiny-llama-plain"), chat_template=None)


def build_byte_level_checkpoint(path: Path) -> Path:
    """A tiny random Llama with a byte-level BPE tokenizer: every text encodes, as llguidance needs."""
    from tests.unit.generation.byte_tokenizer import byte_level_tokenizer

    tok = byte_level_tokenizer()
    tok.chat_template = CHAT_TEMPLATE
    return _save_random_llama(path, tok, max_positions=1024, bos=False, pin_eos=False)


@pytest.fixture(scope="session")
def tiny_bytes_dir(tmp_path_factory) -> Path:
    return build_byte_level_checkpoint(tmp_path_factory.mktemp("tiny-llama-bytes"))
