"""A tiny student built offline: a BPE tokenizer trained on our text plus a random Llama.

It is small enough to fine-tune on 2 CPU cores in seconds and still learns (held-out sums after
~100 examples), which is what the smoke profile and our signal tests need.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pytest_agorabench.training.chat import CHAT_TEMPLATE, IM_END, IM_START, PAD, SPECIAL_TOKENS, SYSTEM_PROMPT

# Shapes per size. "tiny" is tuned with the smoke recipe; "small" is for users with a bit more CPU.
SIZES: dict[str, dict[str, int]] = {
    # Wide and shallow learns the sums fastest per CPU second (narrower or deeper generalised worse).
    "tiny": {"hidden_size": 256, "intermediate_size": 768, "num_hidden_layers": 2, "num_attention_heads": 4},
    "small": {"hidden_size": 384, "intermediate_size": 1152, "num_hidden_layers": 4, "num_attention_heads": 6},
}
VOCAB_SIZE = 1536
MAX_POSITIONS = 4096  # the paper's sequence length, so recipes never exceed the rope range


def _train_tokenizer(corpus: list[str], vocab_size: int):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE(unk_token=None))
    # Single digits make arithmetic learnable by a tiny model; byte-level makes any text round-trip.
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Digits(individual_digits=True),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
        ]
    )
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=2,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    # The chat scaffolding is in every training sequence: give it merges of its own.
    scaffold = [f"system\n{SYSTEM_PROMPT}\nuser\nassistant\n"] * 8
    tok.train_from_iterator(list(corpus) + scaffold, trainer=trainer)
    return tok


def build_tokenizer(corpus: list[str], vocab_size: int = VOCAB_SIZE):
    """A PreTrainedTokenizerFast with our chat template, pad and eos set."""
    from transformers import PreTrainedTokenizerFast

    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=_train_tokenizer(corpus, vocab_size),
        eos_token=IM_END,
        pad_token=PAD,
        additional_special_tokens=[IM_START],
        padding_side="right",
        model_max_length=MAX_POSITIONS,
        clean_up_tokenization_spaces=False,
    )
    tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer


def build_tiny_student(out_dir: Path, corpus: list[str], seed: int = 42, size: str = "tiny") -> dict[str, Any]:
    """Write a loadable HF model directory (tokenizer + randomly initialised Llama) to `out_dir`."""
    if size not in SIZES:
        raise ValueError(f"unknown tiny student size {size!r}; valid: {', '.join(sorted(SIZES))}")
    if not any(text.strip() for text in corpus):
        raise ValueError("build_tiny_student needs a non-empty text corpus to train its tokenizer")
    import torch
    from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tokenizer = build_tokenizer(corpus)
    shape = SIZES[size]
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        max_position_embeddings=MAX_POSITIONS,
        num_key_value_heads=shape["num_attention_heads"],
        tie_word_embeddings=True,  # halves the parameters; the embedding dominates at this size
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        bos_token_id=None,
        **shape,
    )
    # Seed the init only, then restore the global RNG so callers are not perturbed.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = LlamaForCausalLM(config)
    model.generation_config = GenerationConfig(
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id, bos_token_id=None
    )
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    stats = {
        "n_params": int(sum(p.numel() for p in model.parameters())),
        "vocab": len(tokenizer),
        "size": size,
        "seed": seed,
        **shape,
    }
    (out_dir / "tiny_student.json").write_text(json.dumps(stats, indent=2) + "\n")
    return stats
