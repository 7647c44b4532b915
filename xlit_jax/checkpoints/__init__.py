"""Checkpoint interop: load mT5 parameters from Hugging Face, t5x, xlit checkpoints or a training run;
save HF or xlit.

    params, config = load_params(path)            # format detected from what is at `path`
    save_xlit(params, config, out_dir, vocab)      # orbax params/ + config.json (+ spiece.model)
    hf.save_hf(params, config, out_dir)            # config.json + model.safetensors for transformers

`path` may be what `xlit train` writes: MODEL_DIR (its newest complete checkpoint),
MODEL_DIR/checkpoints/N, or MODEL_DIR/export (an xlit dir). Every loader checks the whole tree
against the config (each tensor present, right shape, nothing extra) and a given config against the
checkpoint's (every differing field named); errors are CheckpointError naming file and tensor.
"""
from __future__ import annotations

import os
from pathlib import Path

from xlit_jax.checkpoints import hf, t5x, training_run, xlit_format
from xlit_jax.checkpoints.training_run import write_run_files
from xlit_jax.checkpoints.validation import CheckpointError, flatten_params, validate_params
from xlit_jax.checkpoints.vocabulary import VOCABULARY_NAMES
from xlit_jax.checkpoints.xlit_format import save_xlit
from xlit_jax.models.mt5 import MT5Config

FORMATS = ("hf", "t5x", "xlit", "training")

__all__ = ["CheckpointError", "FORMATS", "checkpoint_vocabulary", "detect_format", "load_params", "save_xlit",
           "write_run_files", "hf", "t5x", "training_run", "xlit_format"]


def detect_format(path: str | os.PathLike) -> str:
    """'hf', 't5x', 'xlit' or 'training' from what is at `path`; CheckpointError says what was found otherwise."""
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"{path}: no such file or directory")
    if path.is_dir() and xlit_format.is_xlit_dir(path):
        return "xlit"
    if path.is_dir() and hf.is_hf_dir(path):
        return "hf"
    if training_run.is_training_checkpoint(path):
        return "training"
    if t5x.is_t5x(path):
        return "t5x"
    listing = sorted(p.name for p in path.iterdir())[:10] if path.is_dir() else [path.name]
    raise CheckpointError(f"{path}: not a recognised checkpoint (want a training MODEL_DIR or its checkpoints/N "
                          f"from `xlit train`, an xlit dir with config.json + params/ (e.g. MODEL_DIR/export), an HF "
                          f"dir with config.json + model.safetensors/pytorch_model.bin, or a t5x 'checkpoint' msgpack "
                          f"or directory); found {listing}")


def load_params(path: str | os.PathLike, config: MT5Config | None = None,
                source_format: str | None = None) -> tuple[dict, MT5Config]:
    """(params, MT5Config) from an HF, t5x, xlit checkpoint or a training run, validated against the config.

    With `config` (e.g. the gin MODEL_CONFIG) the checkpoint's config must agree with it (CheckpointError
    naming every differing field) and it is returned; without, the config comes from the checkpoint
    (t5x: inferred from shapes; training run: MODEL_DIR/config.json).
    """
    source_format = source_format or detect_format(path)
    if source_format == "hf":
        params, loaded = hf.load_hf(path, config)
    elif source_format == "t5x":
        params, loaded = t5x.load_t5x(path, config)
    elif source_format == "xlit":
        params, loaded = xlit_format.load_xlit(path, config)
    elif source_format == "training":
        params, loaded = training_run.load_training(path, config)
    else:
        raise CheckpointError(f"unknown checkpoint format {source_format!r}; known: {FORMATS}")
    validate_params(flatten_params(params), loaded, str(path))
    return params, loaded


def checkpoint_vocabulary(path: str | os.PathLike) -> Path | None:
    """The vocabulary saved with a checkpoint: PATH/spiece.model, else its training MODEL_DIR's, else None."""
    path = Path(path)
    places = [path] if path.is_dir() else [path.parent] if path.is_file() else []
    run_dir = training_run.model_dir_of(path)
    if run_dir is not None:
        places.append(run_dir)
    for place in places:
        for name in VOCABULARY_NAMES:
            if (place / name).is_file():
                return place / name
    return None
