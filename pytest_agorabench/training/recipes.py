"""Training recipes: the paper's SFT recipe (AGORABENCH.md section 3) and cheaper profiles.

A Recipe is plain data; sft.train turns it into trl/transformers arguments. Its fingerprint is
part of the training stage's store key, so any change to a recipe retrains.
"""

from __future__ import annotations

import difflib
from dataclasses import asdict, dataclass, field, replace
from typing import Any


@dataclass(frozen=True)
class Lora:
    """LoRA adapter shape; the adapter is merged into the base weights before saving."""

    rank: int = 16
    alpha: int = 32
    dropout: float = 0.05
    target_modules: tuple[str, ...] = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


@dataclass(frozen=True)
class Recipe:
    name: str
    epochs: int
    learning_rate: float
    per_device_batch: int
    grad_accum: int
    max_length: int
    packing: bool
    # "bfd" keeps per-token labels through packing, so the response-only mask survives
    # (trl builds labels before packing); "wrapped" cuts documents mid-sequence.
    packing_strategy: str = "bfd"
    lr_decay_per_epoch: float = 0.85  # lr x decay at each epoch boundary (step-based LambdaLR)
    weight_decay: float = 0.01
    warmup_ratio: float = 0.0
    bf16: bool = True  # only honoured when CUDA is available
    lora: Lora | None = None
    seed: int = 42
    max_steps: int | None = None  # overrides epochs when set
    gradient_checkpointing: bool = False
    fsdp: bool = False  # multi-GPU through `accelerate launch` + FSDP when more than one GPU is visible
    num_gpus: int = 1  # the world size the recipe was specified for (documents the effective batch)
    assistant_only_loss: bool = True  # loss on the response tokens only
    logging_steps: int = 10
    # Unpacked batches of rows of similar length, batch order redrawn per epoch (length_buckets.py).
    length_buckets: bool = False
    # Checkpoint every save_steps optimizer steps (0: never) so a killed training resumes (checkpoints.py);
    # the newest save_total_limit are kept.
    save_steps: int = 0
    save_total_limit: int = 2
    notes: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        problems = []
        if self.epochs < 1 and not self.max_steps:
            problems.append("epochs must be >= 1 (or set max_steps)")
        if self.learning_rate <= 0:
            problems.append("learning_rate must be > 0")
        if self.per_device_batch < 1 or self.grad_accum < 1:
            problems.append("per_device_batch and grad_accum must be >= 1")
        if self.max_length < 8:
            problems.append("max_length must be >= 8")
        if not 0 < self.lr_decay_per_epoch <= 1:
            problems.append("lr_decay_per_epoch must be in (0, 1]")
        if self.packing_strategy not in ("bfd", "bfd_split", "wrapped"):
            problems.append("packing_strategy must be bfd, bfd_split or wrapped")
        if self.length_buckets and self.packing:
            problems.append("length_buckets applies to unpacked training (packing=False) only")
        if self.max_steps is not None and self.max_steps < 1:
            problems.append("max_steps must be >= 1 or None")
        if self.save_steps < 0 or self.save_total_limit < 1:
            problems.append("save_steps must be >= 0 (0: no checkpoints) and save_total_limit >= 1")
        if self.save_steps and self.save_steps % self.logging_steps:
            # The Trainer logs the mean loss since its last log; a run resumed between two logs would log the
            # mean of fewer steps than an unbroken one, so its loss history (in the report) would differ.
            problems.append("save_steps must be a multiple of logging_steps (a resumed training then logs the "
                            "loss history of an unbroken one)")
        if problems:
            raise ValueError(f"invalid recipe {self.name!r}: " + "; ".join(problems))

    @property
    def effective_batch(self) -> int:
        """Sequences per optimizer step at the recipe's intended world size."""
        return self.per_device_batch * self.grad_accum * self.num_gpus

    def fingerprint(self) -> dict[str, Any]:
        """Everything that changes the trained weights, JSON-ready, for store keys."""
        data = asdict(self)
        data.pop("notes")
        data.pop("logging_steps")  # logging cadence does not change the weights
        # Neither does checkpointing: a resumed run restores optimizer, scheduler, RNG and data order and ends
        # with the weights of an uninterrupted one (tests/unit/training/test_training_checkpoints.py).
        data.pop("save_steps")
        data.pop("save_total_limit")
        if not self.length_buckets:  # a field added later: left out at its default, so older keys hold
            data.pop("length_buckets")
        if self.lora is not None:
            data["lora"]["target_modules"] = list(self.lora.target_modules)
        return data

    def with_overrides(self, **changes: Any) -> Recipe:
        return replace(self, **changes)


RECIPES: dict[str, Recipe] = {
    # Section 3 exactly: 4 GPUs x batch 4 x accumulation 8 = 128 packed sequences of 4,096 tokens per step.
    "paper": Recipe(
        name="paper",
        epochs=5,
        learning_rate=1e-5,
        per_device_batch=4,
        grad_accum=8,
        num_gpus=4,
        max_length=4096,
        packing=True,
        lr_decay_per_epoch=0.85,
        weight_decay=0.01,
        warmup_ratio=0.0,
        bf16=True,
        seed=42,
        fsdp=True,
        gradient_checkpointing=True,  # ours: an 8B model at 4,096 tokens needs it to fit
        # Our estimate, not measured: 10K instances pack into about 10 steps of 128 x 4,096 tokens per epoch,
        # each tens of seconds on 4 H100s, so a save about once an epoch, minutes of work apart, bounds what a
        # lost node costs; a full checkpoint (weights and AdamW state) is large, so keep two.
        save_steps=10,
        notes="AGORABENCH.md section 3; full-parameter SFT of Llama-3.1-8B with FSDP on 4 GPUs",
    ),
    # A cheap single-GPU gate: same loss and schedule shape, smaller batch, LoRA for larger students.
    "quick": Recipe(
        name="quick",
        epochs=3,
        learning_rate=1e-4,
        per_device_batch=8,
        grad_accum=2,
        max_length=2048,
        packing=True,
        lr_decay_per_epoch=0.85,
        bf16=True,
        lora=Lora(rank=16, alpha=32),
        gradient_checkpointing=True,
        save_steps=50,  # LoRA checkpoints are small: adapters and their optimizer state
        notes="single GPU, LoRA merged into the saved checkpoint",
    ),
    # CPU, tiny student: tuned so ~100 arithmetic rows are learnt in tens of seconds on 2 cores.
    "smoke": Recipe(
        name="smoke",
        epochs=24,
        learning_rate=5e-4,  # 1e-3 and above stall the tiny student on a constant answer
        per_device_batch=4,
        grad_accum=1,
        max_length=512,
        packing=False,
        # Instance generation mixes 80 short seed rows with long generated ones, which random batches pad to
        # the long ones: 96 such rows trained 1.42x faster bucketed (60.3 -> 42.5 s, 24 epochs, one thread).
        length_buckets=True,
        lr_decay_per_epoch=0.9,  # gentler than the paper's 0.85: 24 short epochs, not 5 long ones
        weight_decay=0.1,  # helps the held-out sums generalise, not just memorise
        bf16=False,
        logging_steps=25,
        # A few saves over a smoke training (math: 96 steps; cost: bench/training_checkpoints.py), so a lost
        # node's case on the fake cluster resumes its training (tests/cluster).
        save_steps=25,
        notes="tiny student on CPU; unpacked so every row is its own sequence",
    ),
}


def get_recipe(name: str) -> Recipe:
    try:
        return RECIPES[name]
    except KeyError:
        close = difflib.get_close_matches(name, RECIPES, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"unknown training recipe {name!r}; valid: {', '.join(RECIPES)}.{hint}") from None


def recipe_from_dict(data: dict[str, Any]) -> Recipe:
    """Inverse of asdict/fingerprint, for recipes that travel through a JSON job file."""
    data = dict(data)
    lora = data.get("lora")
    if isinstance(lora, dict):
        data["lora"] = Lora(**{**lora, "target_modules": tuple(lora.get("target_modules", Lora.target_modules))})
    return Recipe(**data)
