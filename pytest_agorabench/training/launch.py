"""Multi-GPU SFT: `accelerate launch` of this module, one process per GPU, driven by a JSON job file.

The worker that runs a case calls `run_distributed`; it writes the job, launches, waits and reads the
stats rank 0 wrote. `python -m pytest_agorabench.training.launch JOB.json` is the entry each rank runs.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

from pytest_agorabench.training.recipes import Recipe, recipe_from_dict

ENTRY_MODULE = "pytest_agorabench.training.launch"


def free_port() -> int:
    """A free TCP port for the rendezvous, so concurrent xdist workers do not collide on 29500."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def build_launch_command(
    job_path: Path, recipe: Recipe, num_processes: int, *, port: int | None = None, python: str | None = None
) -> list[str]:
    """The `accelerate launch` command line for one SFT job.

    FSDP itself is configured through the Trainer's arguments (see sft.sft_config), so the command line
    only sets the world size, precision and rendezvous port; that keeps one source of FSDP settings.
    """
    if num_processes < 1:
        raise ValueError("num_processes must be >= 1")
    cmd = [python or sys.executable, "-m", "accelerate.commands.launch"]
    cmd += ["--num_machines", "1", "--num_processes", str(num_processes)]
    cmd += ["--mixed_precision", "bf16" if recipe.bf16 else "no", "--dynamo_backend", "no"]
    if num_processes > 1:
        cmd += ["--multi_gpu"]
    if port is not None:
        cmd += ["--main_process_port", str(port)]
    cmd += ["-m", ENTRY_MODULE, str(job_path)]
    return cmd


def write_job(
    job_dir: Path, base_model: str | Path, rows: list[dict], recipe: Recipe, out_dir: Path,
    checkpoint_dir: Path | None = None, resume_from: Path | None = None,
) -> Path:
    """The job every rank reads. The checkpoint to resume from is chosen once, before launch, and travels
    here, so all ranks resume the same step."""
    job_dir.mkdir(parents=True, exist_ok=True)
    rows_path = job_dir / "rows.jsonl"
    with rows_path.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    job = {
        "base_model": str(base_model),
        "rows_path": str(rows_path),
        "recipe": asdict(recipe),
        "out_dir": str(out_dir),
        "stats_path": str(job_dir / "stats.json"),
        "checkpoint_dir": str(checkpoint_dir) if checkpoint_dir is not None else None,
        "resume_from": str(resume_from) if resume_from is not None else None,
    }
    job_path = job_dir / "job.json"
    job_path.write_text(json.dumps(job, indent=2))
    return job_path


def run_distributed(
    base_model: str | Path, rows: list[dict], recipe: Recipe, out_dir: Path, *, num_processes: int,
    checkpoint_dir: Path | None = None, resume_from: Path | None = None,
) -> dict[str, Any]:
    """Run one SFT job across `num_processes` GPUs and return rank 0's stats."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="agora-sft-") as tmp:
        job_path = write_job(Path(tmp), base_model, rows, recipe, out_dir, checkpoint_dir, resume_from)
        cmd = build_launch_command(job_path, recipe, num_processes, port=free_port())
        log_path = out_dir / "train.log"
        with log_path.open("w") as log:
            proc = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, env=os.environ.copy(), check=False)
        if proc.returncode != 0:
            tail = log_path.read_text(errors="replace")[-4000:]
            raise RuntimeError(f"distributed SFT failed (exit {proc.returncode}): {' '.join(cmd)}\n{tail}")
        return json.loads(Path(job_path.parent / "stats.json").read_text())


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print(f"usage: python -m {ENTRY_MODULE} JOB.json", file=sys.stderr)
        return 2
    job = json.loads(Path(argv[0]).read_text())
    with open(job["rows_path"], encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh if line.strip()]
    recipe = recipe_from_dict(job["recipe"])
    from pytest_agorabench.training.sft import train_in_process

    world = int(os.environ.get("WORLD_SIZE", "1"))
    # Older job files carry neither: no checkpoints, a fresh start.
    checkpoint_dir, resume_from = (Path(job[k]) if job.get(k) else None for k in ("checkpoint_dir", "resume_from"))
    stats = train_in_process(
        job["base_model"], rows, recipe, Path(job["out_dir"]), world_size=world, fsdp=recipe.fsdp and world > 1,
        checkpoint_dir=checkpoint_dir, resume_from=resume_from,
    )
    if int(os.environ.get("RANK", "0")) == 0:
        Path(job["stats_path"]).write_text(json.dumps(stats, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
