"""Whether a folder can be written, asked before anything is created there: a bottom module, so that the
environment table (environment.py), the option checks and the files layer can all ask it without importing
one another."""

from __future__ import annotations

import os
from pathlib import Path


def unwritable_reason(folder: Path) -> str | None:
    """Why nothing can be written at ``folder`` (existing, or to be created under its nearest existing
    ancestor), in a few words; None when it can. Nothing is created here."""
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        return f"{existing} is a file, not a folder"
    if not os.access(existing, os.W_OK | os.X_OK):
        return f"{existing} is not writable"
    return None
