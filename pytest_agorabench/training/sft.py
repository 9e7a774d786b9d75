"""Supervised fine-tuning of the student with trl's SFTTrainer (AGORABENCH.md section 3).

`train` is the stage's one entry point. Heavy libraries are imported inside functions so that
importing this package stays cheap for `pytest --collect-only`.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from pytest_agorabench.training.chat import CHAT_TEMPLATE, IM_END, IM_START, to_messages
from pytest_agorabench.training.recipes import Recipe


def epoch_decay_lambda(steps_per_epoch: int, decay: float, warmup_steps: int = 0) -> Callable[[int], float]:
    """LR multiplier for optimizer step `step`: decay**epoch, after an optional linear warm-up."""
    steps_per_epoch = max(1, int(steps_per_epoch))

    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        return decay ** (step // steps_per_epoch)

    return factor


def train(
    base_model: str | Path, rows: list[dict], recipe: Recipe, out_dir: Path, checkpoint_dir: Path | None = None
) -> dict[str, Any]:
    """Fine-tune `base_model` on `rows` with `recipe`; save model + tokenizer to `out_dir`; return stats.

    `checkpoint_dir`: a folder that outlives this process (the store's, per training key). The recipe's
    checkpoints go there, and a complete one found there on start is resumed from (checkpoints.py)."""
    if not rows:
        raise ValueError("train() got no rows: the training set is empty (check generation drops and curation)")
    out_dir = Path(out_dir)
    gpus = _visible_gpus()
    resume_from, discarded = None, None
    if checkpoint_dir is not None:
        from pytest_agorabench.training.checkpoints import prepare_resume

        resume_from, discarded = prepare_resume(Path(checkpoint_dir), run_layout(recipe, max(1, gpus)))
    if gpus > 1:
        # The Trainer cannot use several GPUs from one process; accelerate spawns one per GPU.
        from pytest_agorabench.training.launch import run_distributed

        stats = run_distributed(
            base_model, rows, recipe, out_dir, num_processes=gpus, checkpoint_dir=checkpoint_dir, resume_from=resume_from
        )
    else:
        stats = train_in_process(
            base_model, rows, recipe, out_dir, checkpoint_dir=checkpoint_dir, resume_from=resume_from
        )
    return {**stats, "checkpoints_discarded": discarded} if discarded else stats


def run_layout(recipe: Recipe, world_size: int) -> dict[str, Any]:
    """How a run splits its work; a checkpoint resumes only a run of the same layout."""
    micro_batch, accumulation = micro_batching(recipe, world_size)
    bf16 = _use_bf16(recipe)
    return {
        "world_size": world_size,
        "micro_batch": micro_batch,
        "grad_accum": accumulation,
        "fsdp": recipe.fsdp and world_size > 1,
        "master_dtype": master_dtype(bf16, lora=recipe.lora is not None, fsdp=recipe.fsdp and world_size > 1),
        "bf16": bf16,
    }


def _use_bf16(recipe: Recipe) -> bool:
    import torch

    return bool(recipe.bf16 and torch.cuda.is_available() and torch.cuda.is_bf16_supported())


def _visible_gpus() -> int:
    import torch

    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def grad_accum_for(recipe: Recipe, world_size: int) -> int:
    """Accumulation that keeps the recipe's effective batch on the world size we actually have."""
    per_step = recipe.per_device_batch * max(1, world_size)
    return max(1, round(recipe.effective_batch / per_step))


def _flash_attention_available() -> bool:
    try:
        from transformers.utils import is_flash_attn_2_available
    except ImportError:  # pragma: no cover - depends on the transformers release
        return False
    return bool(is_flash_attn_2_available())


def micro_batching(recipe: Recipe, world_size: int, flash_attention: bool | None = None) -> tuple[int, int]:
    """(per-device micro-batch, accumulation steps) keeping the recipe's effective batch.

    trl's BFD packing trains padding-free: a micro-batch of k packed sequences becomes one row of k x
    max_length tokens. Without a flash-attention kernel, sdpa then builds a dense mask over the whole
    row and computes attention across documents it masks anyway, k times the work of k separate rows
    (measured on an H100, 1.2B model: 1.7x slower, 47 vs 31 GiB; bench/gpu_sft.py). One packed sequence
    per micro-batch with k times the accumulation is the same optimizer step without that cost.
    """
    flash = _flash_attention_available() if flash_attention is None else flash_attention
    if recipe.packing and recipe.packing_strategy in ("bfd", "bfd_split") and not flash and recipe.per_device_batch > 1:
        return 1, max(1, round(recipe.effective_batch / max(1, world_size)))
    return recipe.per_device_batch, grad_accum_for(recipe, world_size)


def master_dtype(bf16: bool, *, lora: bool, fsdp: bool) -> str:
    """The dtype the weights are loaded and updated in.

    Full-parameter training keeps fp32 master weights and runs bf16 inside autocast: AdamW steps of a
    1e-5 learning rate are below bf16's resolution for most weights, so pure-bf16 weights silently stop
    learning (measured on an H100: 15 % of weight elements changed over a run, norms none; fp32 all).
    LoRA keeps its adapters in fp32 itself and FSDP's mixed precision upcasts, so they load in bf16.
    """
    return "bfloat16" if bf16 and (lora or fsdp) else "float32"


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence library progress bars and info logs for the duration, then restore them."""
    import datasets
    import transformers

    datasets_bars = not datasets.are_progress_bars_disabled()
    transformers_bars = transformers.logging.is_progress_bar_enabled()
    verbosity = transformers.logging.get_verbosity()
    datasets.disable_progress_bars()
    transformers.logging.disable_progress_bar()
    transformers.logging.set_verbosity_error()
    try:
        yield
    finally:
        transformers.logging.set_verbosity(verbosity)
        if transformers_bars:
            transformers.logging.enable_progress_bar()
        if datasets_bars:
            datasets.enable_progress_bars()


def _load_tokenizer(base_model: str | Path):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(base_model))
    added = False
    if not tokenizer.chat_template:
        # A base model without a chat template gets ours; its two turn tokens are new to the vocab.
        added = tokenizer.add_special_tokens({"additional_special_tokens": [IM_START, IM_END]}) > 0
        tokenizer.chat_template = CHAT_TEMPLATE
        tokenizer.eos_token = IM_END
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer, added


def _select_rows(rows: list[dict], tokenizer, max_length: int) -> tuple[list[dict], dict[str, int]]:
    """Keep rows that template to a non-empty response within max_length; count the rest."""
    from trl.chat_template_utils import has_generation_markers

    marked = has_generation_markers(tokenizer.chat_template)
    kept, counts = [], {"dropped_empty": 0, "dropped_too_long": 0, "tokens": 0, "response_tokens": 0}
    for row in rows:
        if not str(row.get("instruction") or "").strip() or not str(row.get("response") or "").strip():
            counts["dropped_empty"] += 1
            continue
        out = tokenizer.apply_chat_template(
            to_messages(row), tokenize=True, return_dict=True, return_assistant_tokens_mask=marked
        )
        n = len(out["input_ids"])
        n_response = sum(out["assistant_masks"]) if marked else n
        if n_response == 0:
            counts["dropped_empty"] += 1
        elif n > max_length:
            counts["dropped_too_long"] += 1
        else:
            kept.append(row)
            counts["tokens"] += n
            counts["response_tokens"] += n_response
    return kept, counts


def _trainer_class():
    from trl import SFTTrainer

    class _EpochDecaySFTTrainer(SFTTrainer):
        """SFTTrainer whose LR is multiplied by the recipe's decay at each epoch boundary."""

        def __init__(self, *args: Any, recipe: Recipe, **kwargs: Any) -> None:
            self._recipe = recipe
            self._steps_per_epoch: int | None = None
            super().__init__(*args, **kwargs)

        def set_initial_training_values(self, args, dataloader):
            values = super().set_initial_training_values(args, dataloader)
            self._steps_per_epoch = values[1]  # optimizer steps per epoch, as the Trainer counts them
            return values

        def _get_train_sampler(self, *args: Any, **kwargs: Any):
            if not self._recipe.length_buckets:
                return super()._get_train_sampler(*args, **kwargs)
            from pytest_agorabench.training.length_buckets import LengthBucketSampler

            lengths = [len(ids) for ids in self.train_dataset["input_ids"]]
            return LengthBucketSampler(lengths, self.args.train_batch_size, self._recipe.seed)

        def create_scheduler(self, num_training_steps: int, optimizer=None):
            import torch

            if self.lr_scheduler is None:
                per_epoch = self._steps_per_epoch or math.ceil(num_training_steps / max(1, self._recipe.epochs))
                warmup = int(self._recipe.warmup_ratio * num_training_steps)
                factor = epoch_decay_lambda(per_epoch, self._recipe.lr_decay_per_epoch, warmup)
                self.lr_scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer or self.optimizer, factor)
                self._created_lr_scheduler = True
            return self.lr_scheduler

    return _EpochDecaySFTTrainer


def sft_config(
    recipe: Recipe, out_dir: Path, *, bf16: bool, world_size: int = 1, fsdp: bool = False,
    checkpoint_dir: Path | None = None,
):
    """The SFTConfig for a recipe; FSDP settings only when launched on several GPUs; checkpoints into
    `checkpoint_dir` (never `out_dir`, which a killed build loses) when the recipe saves any."""
    import dataclasses

    import torch
    from trl import SFTConfig

    kwargs: dict[str, Any] = {}
    gradient_checkpointing = recipe.gradient_checkpointing
    if fsdp:
        kwargs["fsdp"] = True
        kwargs["fsdp_config"] = {
            "version": 2,
            "auto_wrap_policy": "TRANSFORMER_BASED_WRAP",
            "state_dict_type": "FULL_STATE_DICT",  # one loadable checkpoint for evaluation
            "activation_checkpointing": gradient_checkpointing,
        }
        gradient_checkpointing = False  # FSDP's own checkpointing avoids a redundant all-gather
    # transformers 5.x renamed gradient_checkpointing; older releases only know the old name.
    names = {f.name for f in dataclasses.fields(SFTConfig)}
    checkpointing_arg = "activation_checkpointing" if "activation_checkpointing" in names else "gradient_checkpointing"
    kwargs[checkpointing_arg] = gradient_checkpointing
    if checkpoint_dir is not None and recipe.save_steps:
        kwargs.update(save_strategy="steps", save_steps=recipe.save_steps, save_total_limit=recipe.save_total_limit)
        out_dir = checkpoint_dir  # the Trainer's output_dir only receives checkpoints; the model is saved by _save
    else:
        kwargs["save_strategy"] = "no"
    micro_batch, accumulation = micro_batching(recipe, world_size)
    return SFTConfig(
        output_dir=str(out_dir),
        num_train_epochs=recipe.epochs,
        max_steps=recipe.max_steps or -1,
        learning_rate=recipe.learning_rate,
        per_device_train_batch_size=micro_batch,
        gradient_accumulation_steps=accumulation,
        weight_decay=recipe.weight_decay,
        optim="adamw_torch",
        warmup_steps=0,  # warm-up, if any, lives in our LambdaLR
        bf16=bf16,
        fp16=False,
        max_length=recipe.max_length,
        packing=recipe.packing,
        packing_strategy=recipe.packing_strategy,
        assistant_only_loss=recipe.assistant_only_loss,
        seed=recipe.seed,
        data_seed=recipe.seed,
        report_to="none",
        logging_strategy="steps",
        logging_steps=recipe.logging_steps,
        disable_tqdm=True,
        log_level="error",
        dataloader_num_workers=0,
        dataloader_pin_memory=torch.cuda.is_available(),
        **kwargs,
    )


def _peft_config(recipe: Recipe):
    if recipe.lora is None:
        return None
    try:
        from peft import LoraConfig
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(f"recipe {recipe.name!r} uses LoRA, which needs peft: pip install peft") from exc
    return LoraConfig(
        r=recipe.lora.rank,
        lora_alpha=recipe.lora.alpha,
        lora_dropout=recipe.lora.dropout,
        target_modules=list(recipe.lora.target_modules),
        task_type="CAUSAL_LM",
    )


def train_in_process(
    base_model: str | Path, rows: list[dict], recipe: Recipe, out_dir: Path, *, world_size: int = 1, fsdp: bool = False,
    checkpoint_dir: Path | None = None, resume_from: Path | None = None,
) -> dict[str, Any]:
    """Train in this process (or in one rank of an `accelerate launch`); `resume_from`: a complete checkpoint of
    this training (chosen by `train`, once for all ranks) whose optimizer, scheduler, RNG and data position it
    continues from."""
    if not rows:
        raise ValueError("train() got no rows: the training set is empty (check generation drops and curation)")
    import torch
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, set_seed

    start = time.perf_counter()
    out_dir = Path(out_dir)
    set_seed(recipe.seed)
    bf16 = _use_bf16(recipe)
    with _quiet():
        tokenizer, added_tokens = _load_tokenizer(base_model)
        kept, counts = _select_rows(rows, tokenizer, recipe.max_length)
        if not kept:
            raise ValueError(
                f"no trainable rows out of {len(rows)}: {counts['dropped_empty']} empty after templating, "
                f"{counts['dropped_too_long']} longer than max_length={recipe.max_length}"
            )
        dtype = master_dtype(bf16, lora=recipe.lora is not None, fsdp=fsdp)
        model = AutoModelForCausalLM.from_pretrained(str(base_model), dtype=getattr(torch, dtype))
        if added_tokens:
            model.resize_token_embeddings(len(tokenizer))
        model.config.eos_token_id = tokenizer.eos_token_id
        model.generation_config.eos_token_id = tokenizer.eos_token_id
        model.generation_config.pad_token_id = tokenizer.pad_token_id
        dataset = Dataset.from_list([{"messages": to_messages(r)} for r in kept])
        args = sft_config(recipe, out_dir, bf16=bf16, world_size=world_size, fsdp=fsdp, checkpoint_dir=checkpoint_dir)
        trainer = _trainer_class()(
            model=model,
            args=args,
            train_dataset=dataset,
            processing_class=tokenizer,
            peft_config=_peft_config(recipe),
            recipe=recipe,
        )
        # disable_tqdm swaps the bar for a callback that prints every log dict; we return them instead.
        from transformers.trainer_callback import PrinterCallback, ProgressCallback

        trainer.remove_callback(PrinterCallback)
        trainer.remove_callback(ProgressCallback)
        trainer.add_callback(_no_final_checkpoint())
        # Read before training: the Trainer's rotation (save_total_limit) may delete that checkpoint as it goes.
        resumed_from_step = _step_of(resume_from)
        result = trainer.train(resume_from_checkpoint=str(resume_from) if resume_from else None)
        _save(trainer, tokenizer, out_dir, merge_lora=recipe.lora is not None, bf16=bf16)
    seconds = time.perf_counter() - start
    train_seconds = float(result.metrics.get("train_runtime") or seconds)
    state = trainer.state
    history = [
        {"step": e["step"], "epoch": e.get("epoch"), "loss": e["loss"], "learning_rate": e.get("learning_rate")}
        for e in state.log_history
        if "loss" in e
    ]
    trained_tokens = getattr(trainer, "_total_train_tokens", 0) or int(counts["tokens"] * (state.epoch or 0))
    return {
        "steps": state.global_step,
        "resumed_from_step": resumed_from_step,  # None when trained from the start
        "steps_run": state.global_step - (resumed_from_step or 0),  # in this process; train_loss and tokens too
        "epochs": state.epoch,
        "train_loss": result.training_loss,  # mean over the steps run here, as the Trainer reports it
        "final_loss": history[-1]["loss"] if history else result.training_loss,
        "loss_history": history,
        "train_tokens": int(trained_tokens),
        "tokens_per_epoch": counts["tokens"],
        "response_tokens_per_epoch": counts["response_tokens"],
        "rows": len(rows),
        "rows_trained": len(kept),
        "dropped_too_long": counts["dropped_too_long"],
        "dropped_empty": counts["dropped_empty"],
        "seconds": seconds,  # the whole call: loading, templating, training, saving
        "train_seconds": train_seconds,
        "tokens_per_second": trained_tokens / train_seconds if train_seconds > 0 else 0.0,
        "bf16": bf16,
        "master_dtype": dtype,
        "micro_batch": args.per_device_train_batch_size,
        "world_size": world_size,
        "grad_accum": args.gradient_accumulation_steps,
        "recipe": recipe.name,
    }


def _step_of(checkpoint: Path | None) -> int | None:
    if checkpoint is None:
        return None
    from pytest_agorabench.training.checkpoints import checkpoint_step

    return checkpoint_step(Path(checkpoint))


def _no_final_checkpoint():
    """A callback that drops the checkpoint the Trainer saves after its last step: the model saved right after
    supersedes it, and for a large model it is minutes of writing for nothing."""
    from transformers import TrainerCallback

    class _NoFinalCheckpoint(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            if state.global_step >= state.max_steps:
                control.should_save = False
            return control

    return _NoFinalCheckpoint()


def _save(trainer, tokenizer, out_dir: Path, *, merge_lora: bool, bf16: bool = False) -> None:
    """Write a plain HF model dir (LoRA merged) that evaluation loads like any base model."""
    out_dir.mkdir(parents=True, exist_ok=True)
    if bf16 and not merge_lora and not trainer.is_fsdp_enabled:
        import torch

        # fp32 master weights saved as bf16: the checkpoint keeps the base's dtype (vllm's "auto" would
        # otherwise serve an fp32 checkpoint as fp16).
        trainer.model.to(torch.bfloat16)
    if merge_lora:
        merged = trainer.model.merge_and_unload()
        if trainer.is_world_process_zero():
            merged.save_pretrained(out_dir)
    else:
        trainer.save_model(str(out_dir))  # gathers FSDP shards into one full state dict
    if trainer.is_world_process_zero():
        tokenizer.save_pretrained(out_dir)
