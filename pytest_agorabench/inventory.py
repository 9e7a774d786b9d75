"""What an artifact directory holds, file by file (size and sha256), and whether it still holds it.

The store writes an inventory into every manifest and checks it each time it serves the artifact, so a file
that was truncated, torn by a kill, or deleted is found before its damage reaches a figure. Every file is
hashed when the artifact is written; when served, every file's size is checked and files up to
``HASH_ON_SERVE_BYTES`` are hashed again (checkpoint weights of many GB are checked by size only: hashing
them on every serve would cost minutes; ``agorabench cache --verify`` hashes everything).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

HASH_ON_SERVE_BYTES = 64 * 2**20
_CHUNK = 2**20


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(_CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def inventory(directory: Path, skip: tuple[str, ...] = ()) -> dict[str, dict[str, Any]]:
    """``relative path -> {"size", "sha256"}`` of every file under ``directory`` (but ``skip``)."""
    out = {}
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        rel = path.relative_to(directory).as_posix()
        if rel in skip:
            continue
        out[rel] = {"size": path.stat().st_size, "sha256": file_sha256(path)}
    return out


def damage(directory: Path, files: Any, full: bool = False) -> str | None:
    """Why ``directory`` no longer matches ``files`` (the first difference found), or None when it does."""
    if not isinstance(files, dict):
        return "its inventory is not a file list"
    for rel, expected in files.items():
        # an edited inventory must be damage, not a KeyError
        if not (isinstance(expected, dict) and type(expected.get("size")) is int
                and isinstance(expected.get("sha256"), str)):
            return f"its inventory's entry for {rel} is malformed"
        path = directory / rel
        try:
            size = path.stat().st_size
        except OSError:
            return f"{rel} is missing"
        if size != expected["size"]:
            return f"{rel} has {size} bytes, {expected['size']} were written"
        if (full or size <= HASH_ON_SERVE_BYTES) and file_sha256(path) != expected["sha256"]:
            return f"{rel} changed since it was written (sha256 differs)"
    return None


def legacy_damage(directory: Path) -> str | None:
    """For artifacts written before inventories: the JSON and JSONL files must parse to their last line."""
    for path in sorted(directory.rglob("*")):
        if path.suffix not in (".json", ".jsonl") or not path.is_file():
            continue
        text = path.read_text(errors="replace")
        try:
            if path.suffix == ".json":
                json.loads(text)
            else:
                if text and not text.endswith("\n"):
                    return f"{path.relative_to(directory)} ends in a torn line"
                for line in text.splitlines():
                    if line.strip():
                        json.loads(line)
        except json.JSONDecodeError as exc:
            return f"{path.relative_to(directory)} is not valid JSON ({exc.msg})"
    return None
