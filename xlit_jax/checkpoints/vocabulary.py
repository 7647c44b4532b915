"""The vocabulary kept with a checkpoint: DIR/spiece.model, written by save_xlit and `xlit train`
(checkpoints.checkpoint_vocabulary finds it for the evaluator)."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

VOCABULARY_NAME = "spiece.model"
VOCABULARY_NAMES = (VOCABULARY_NAME, "sentencepiece.model", "vocab.model")


def copy_vocabulary(vocabulary_path: str | os.PathLike | None, directory: str | os.PathLike) -> Path | None:
    """Copies a local vocabulary file to DIRECTORY/spiece.model (remote paths are not copied); returns it."""
    if vocabulary_path is None or "://" in str(vocabulary_path):
        return None
    source = Path(vocabulary_path)
    if not source.is_file():
        raise FileNotFoundError(f"vocabulary file {source} not found")
    target = Path(directory) / VOCABULARY_NAME
    if source.absolute() != target.absolute():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    return target
