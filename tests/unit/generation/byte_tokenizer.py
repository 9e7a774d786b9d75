"""A small byte-level BPE tokenizer (any text encodes) for grammar tests: llguidance needs a real
tokenizer, and this one is built in milliseconds without the hub."""

from __future__ import annotations

TRAINING_TEXT = [
    "What is 2+3?\nOUTPUT: 2+3=5\n[RESULT] 5 [/RESULT]\n[END]",
    "Revised Question: q\nRevised Answer: a [END]",
    '{"instruction": "Write a function", "response": "```python\\ndef f(x):\\n    return x\\n```"}',
    "the cat sat on the mat and the dog ran in the park",
]


def byte_level_tokenizer():
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    raw = Tokenizer(models.BPE())
    raw.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    raw.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=500, special_tokens=["<eos>", "<pad>"], initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    raw.train_from_iterator(TRAINING_TEXT * 3, trainer)
    return PreTrainedTokenizerFast(tokenizer_object=raw, eos_token="<eos>", pad_token="<pad>")


def ll_tokenizer(hf_tokenizer):
    import llguidance.hf

    return llguidance.hf.from_tokenizer(hf_tokenizer)
