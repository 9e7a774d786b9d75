"""SFT through trl: a few rows train and save a loadable model; masks, packing, drops, schedule, launch."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from pytest_agorabench.training.recipes import get_recipe

FAST = dict(epochs=2, per_device_batch=2, logging_steps=1)


@pytest.fixture(scope="module")
def rows(sum_rows):
    return sum_rows(6)


@pytest.fixture(scope="module")
def trained(tiny_student, tmp_path_factory, rows):
    from pytest_agorabench.training.sft import train

    recipe = get_recipe("smoke").with_overrides(**FAST)
    rows = rows + [
        {"id": "long", "instruction": "x " * 600, "response": "too long"},
        {"id": "empty", "instruction": "What?", "response": "   "},
    ]
    out = tmp_path_factory.mktemp("sft") / "model"
    return train(tiny_student[0], rows, recipe, out), out, recipe


def test_sft_runs_and_writes_a_loadable_model(trained):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    stats, out, _ = trained
    assert stats["steps"] == 6 and stats["epochs"] == pytest.approx(2.0)
    assert stats["rows"] == 8 and stats["rows_trained"] == 6
    assert stats["train_tokens"] == 2 * stats["tokens_per_epoch"] > 0
    assert stats["seconds"] > 0 and stats["tokens_per_second"] > 0
    assert stats["master_dtype"] == "float32" and stats["bf16"] is False  # CPU
    assert len(stats["loss_history"]) == 6 and stats["final_loss"] == stats["loss_history"][-1]["loss"]
    assert json.loads(json.dumps(stats)) == stats
    model = AutoModelForCausalLM.from_pretrained(out)
    tokenizer = AutoTokenizer.from_pretrained(out)
    assert tokenizer.chat_template and model.generation_config.eos_token_id == tokenizer.eos_token_id
    assert not list(out.glob("checkpoint-*"))  # save_strategy "no"


def test_bad_rows_are_counted_not_fatal(trained):
    stats, _, _ = trained
    assert stats["dropped_too_long"] == 1 and stats["dropped_empty"] == 1


def test_lr_decays_per_epoch_in_the_real_run(trained):
    stats, _, recipe = trained
    steps_per_epoch = 3  # 6 rows, batch 2
    for entry in stats["loss_history"]:
        # The logged rate is the one optimizer step `step` (1-based) ran with: full rate from step 1
        # (no warm-up), x0.85 from the first step of epoch 2.
        expected = recipe.learning_rate * recipe.lr_decay_per_epoch ** ((entry["step"] - 1) // steps_per_epoch)
        assert entry["learning_rate"] == pytest.approx(expected)


def test_empty_rows_raise(tiny_student, tmp_path):
    from pytest_agorabench.training.sft import train

    with pytest.raises(ValueError, match="empty"):
        train(tiny_student[0], [], get_recipe("smoke"), tmp_path / "m")
    with pytest.raises(ValueError, match="no trainable rows"):
        train(tiny_student[0], [{"id": "1", "instruction": "", "response": ""}], get_recipe("smoke"), tmp_path / "m")


def _prepared_batch(tiny_student, recipe, rows):
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from pytest_agorabench.training.chat import to_messages
    from pytest_agorabench.training.sft import _trainer_class, sft_config

    path = tiny_student[0]
    tokenizer = AutoTokenizer.from_pretrained(path)
    trainer = _trainer_class()(
        model=AutoModelForCausalLM.from_pretrained(path),
        args=sft_config(recipe, path.parent / "unused", bf16=False),
        train_dataset=Dataset.from_list([{"messages": to_messages(r)} for r in rows]),
        processing_class=tokenizer,
        recipe=recipe,
    )
    return tokenizer, trainer, next(iter(trainer.get_train_dataloader()))


@pytest.mark.parametrize("packing", [False, True], ids=["unpacked", "packed-bfd"])
def test_loss_only_on_responses(tiny_student, packing, rows, monkeypatch):
    # Keep the recipe's micro-batch of 6 (as with flash attention) so all documents land in one batch.
    monkeypatch.setattr("pytest_agorabench.training.sft._flash_attention_available", lambda: True)
    recipe = get_recipe("smoke").with_overrides(packing=packing, length_buckets=not packing, max_length=256, per_device_batch=6)
    tokenizer, trainer, batch = _prepared_batch(tiny_student, recipe, rows)
    ids, labels = batch["input_ids"].flatten().tolist(), batch["labels"].flatten().tolist()
    if packing:
        # Several documents in one row, separated by position_ids restarting at 0.
        assert batch["input_ids"].shape[0] == 1 and "attention_mask" not in batch
        assert (batch["position_ids"] == 0).sum() == 6
    trained_text = tokenizer.decode([t for t, lab in zip(ids, labels, strict=True) if lab != -100])
    expected = "".join(r["response"] + tokenizer.eos_token for r in rows)
    assert sorted(trained_text.split(tokenizer.eos_token)) == sorted(expected.split(tokenizer.eos_token))
    prompt_ids = set(tokenizer("<|im_start|>user\nWhat is")["input_ids"])
    assert all(lab == -100 for t, lab in zip(ids, labels, strict=True) if t in prompt_ids)
    loss = trainer.model(
        **{k: v for k, v in batch.items() if k in ("input_ids", "labels", "position_ids", "attention_mask")}
    )
    assert loss.loss is None or loss.loss.isfinite()


def test_packed_training_runs(tiny_student, tmp_path, rows):
    from pytest_agorabench.training.sft import train

    recipe = get_recipe("smoke").with_overrides(packing=True, length_buckets=False, max_length=128, epochs=1, per_device_batch=2)
    stats = train(tiny_student[0], rows, recipe, tmp_path / "packed")
    assert stats["steps"] >= 1 and (tmp_path / "packed" / "model.safetensors").exists()


def test_length_buckets_keep_short_and_long_rows_in_separate_batches(tiny_student, rows):
    """The smoke recipe's sampler, reached through the real Trainer's data loader: no batch pads a short
    row to a long one, every row comes once per epoch, and the next epoch draws another order."""
    long_rows = [{"id": f"long-{i}", "instruction": "Explain " + "why " * 40, "response": "Because."} for i in range(4)]
    recipe = get_recipe("smoke").with_overrides(per_device_batch=2)
    assert recipe.length_buckets
    _, trainer, _ = _prepared_batch(tiny_student, recipe, rows + long_rows)
    loader = trainer.get_train_dataloader()
    orders = []
    for epoch in (0, 1):
        loader.set_epoch(epoch)
        batches = list(loader)
        lengths = [b["attention_mask"].sum(dim=1).tolist() for b in batches]
        assert len(batches) == 5 and sum(len(rows_in) for rows_in in lengths) == 10
        assert max(map(max, lengths)) > 1.4 * min(map(min, lengths))  # the long rows really are longer
        assert all(max(rows_in) < 1.2 * min(rows_in) for rows_in in lengths)  # never a short row beside a long one
        orders.append([b["input_ids"].flatten().tolist() for b in batches])
    assert orders[0] != orders[1]


def test_launch_command_line():
    from pytest_agorabench.training.launch import ENTRY_MODULE, build_launch_command

    cmd = build_launch_command(Path("/jobs/job.json"), get_recipe("paper"), 4, port=29611, python="/py")
    assert cmd[:3] == ["/py", "-m", "accelerate.commands.launch"]
    flags = dict(zip(cmd[3:], cmd[4:], strict=False))
    assert flags["--num_processes"] == "4" and flags["--num_machines"] == "1"
    assert flags["--mixed_precision"] == "bf16" and flags["--main_process_port"] == "29611"
    assert "--multi_gpu" in cmd and cmd[-3:] == ["-m", ENTRY_MODULE, "/jobs/job.json"]
    smoke = build_launch_command(Path("j.json"), get_recipe("smoke"), 1)
    assert "--multi_gpu" not in smoke and dict(zip(smoke, smoke[1:], strict=False))["--mixed_precision"] == "no"
    assert smoke[0] == sys.executable


def test_fsdp_settings_live_in_the_trainer_arguments(tmp_path):
    from pytest_agorabench.training.sft import sft_config

    args = sft_config(get_recipe("paper"), tmp_path, bf16=False, world_size=4, fsdp=True)
    assert args.fsdp and args.fsdp_config["auto_wrap_policy"] == "TRANSFORMER_BASED_WRAP"
    assert args.fsdp_config["state_dict_type"] == "FULL_STATE_DICT" and not args.gradient_checkpointing
    assert args.per_device_train_batch_size * args.gradient_accumulation_steps * 4 == 128  # the paper's batch
    assert args.save_strategy == "no" and args.report_to == []


@pytest.mark.parametrize("world_size", [1, 2, 4])
def test_packed_padding_free_batches_are_split_without_flash_attention(world_size):
    from pytest_agorabench.training.sft import micro_batching

    paper = get_recipe("paper")  # 4 per device x 8 accumulation x 4 GPUs
    assert micro_batching(paper, 4, flash_attention=True) == (4, 8)
    batch, accumulation = micro_batching(paper, world_size, flash_attention=False)
    assert batch == 1 and batch * accumulation * world_size == paper.effective_batch == 128
    # Unpacked or "wrapped" packing is not padding-free: the recipe's micro-batch stays.
    smoke = get_recipe("smoke")
    assert micro_batching(smoke, 1, flash_attention=False) == (smoke.per_device_batch, smoke.grad_accum)
    wrapped = paper.with_overrides(packing_strategy="wrapped")
    assert micro_batching(wrapped, 4, flash_attention=False) == (4, 8)


def test_full_parameter_training_keeps_fp32_master_weights():
    from pytest_agorabench.training.sft import master_dtype

    assert master_dtype(True, lora=False, fsdp=False) == "float32"  # bf16 runs inside autocast
    assert master_dtype(True, lora=True, fsdp=False) == "bfloat16"
    assert master_dtype(True, lora=False, fsdp=True) == "bfloat16"
    assert master_dtype(False, lora=True, fsdp=True) == "float32"


def test_launch_entry_runs_a_job_file(tiny_student, tmp_path, monkeypatch, rows):
    """The entry each rank runs, here as a single CPU process (no accelerate)."""
    from pytest_agorabench.training.launch import main, write_job

    monkeypatch.delenv("RANK", raising=False)
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    recipe = get_recipe("smoke").with_overrides(epochs=1, per_device_batch=3)
    job = write_job(tmp_path / "job", tiny_student[0], rows, recipe, tmp_path / "out")
    assert main([str(job)]) == 0
    stats = json.loads((tmp_path / "job" / "stats.json").read_text())
    assert stats["steps"] == 2 and (tmp_path / "out" / "config.json").exists()
    assert main([]) == 2


def test_packed_documents_do_not_attend_to_each_other(tiny_student):
    """Padding-free packing on CPU (sdpa): restarting position_ids must isolate documents.

    transformers only derives the block-diagonal mask from position_ids without a KV cache, so this
    holds with use_cache=False, which trl's SFTTrainer sets for every training forward.
    """
    import torch
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny_student[0]).eval()
    first, second = torch.arange(5, 17)[None], torch.arange(40, 49)[None]
    packed = torch.cat([first, second], dim=1)
    positions = torch.cat([torch.arange(12), torch.arange(9)])[None]
    with torch.no_grad():
        alone = model(input_ids=second, use_cache=False).logits
        together = model(input_ids=packed, position_ids=positions, use_cache=False).logits[:, 12:]
    assert torch.allclose(alone, together, atol=1e-4)
