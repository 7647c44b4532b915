"""Checkpoint interop: load mT5 parameters from Hugging Face, t5x or xlit checkpoints; save HF or xlit.

    params, config = load_params(path)            # format detected from what is at `path`
    save_xlit(params, config, out_dir)             # orbax params/ + config.json
    hf.save_hf(params, config, out_dir)            # config.json + model.safetensors for transformers

Every loader checks the whole tree against the config (each tensor present, right shape, nothing
extra) and raises CheckpointError naming the file and tensor; nothing is half-loaded.
"""
from __future__ import annotations

import os
from pathlib import Path

from xlit_jax.checkpoints import hf, t5x, xlit_format
from xlit_jax.checkpoints.validation import CheckpointError, flatten_params, validate_params
from xlit_jax.checkpoints.xlit_format import save_xlit
from xlit_jax.models.mt5 import MT5Config

FORMATS = ("hf", "t5x", "xlit")

__all__ = ["CheckpointError", "FORMATS", "detect_format", "load_params", "save_xlit", "hf", "t5x", "xlit_format"]


def detect_format(path: str | os.PathLike) -> str:
    """'hf', 't5x' or 'xlit' from what is at `path`; CheckpointError says what was found otherwise."""
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"{path}: no such file or directory")
    if path.is_dir() and xlit_format.is_xlit_dir(path):
        return "xlit"
    if path.is_dir() and hf.is_hf_dir(path):
        return "hf"
    if t5x.is_t5x(path):
        return "t5x"
    listing = sorted(p.name for p in path.iterdir())[:10] if path.is_dir() else [path.name]
    raise CheckpointError(f"{path}: not a recognised checkpoint (want an HF dir with config.json + "
                          f"model.safetensors/pytorch_model.bin, a t5x 'checkpoint' msgpack or directory, or an "
                          f"xlit dir with config.json + params/); found {listing}")


def load_params(path: str | os.PathLike, config: MT5Config | None = None,
                source_format: str | None = None) -> tuple[dict, MT5Config]:
    """(params, MT5Config) from an HF, t5x or xlit checkpoint, validated against the config.

    With `config` (e.g. the gin MODEL_CONFIG) the checkpoint must fit it and it is returned;
    without, the config comes from the checkpoint (t5x: inferred from shapes).
    """
    source_format = source_format or detect_format(path)
    if source_format == "hf":
        params, loaded = hf.load_hf(path, config)
    elif source_format == "t5x":
        params, loaded = t5x.load_t5x(path, config)
    elif source_format == "xlit":
        params, loaded = xlit_format.load_xlit(path, config)
    else:
        raise CheckpointError(f"unknown checkpoint format {source_format!r}; known: {FORMATS}")
    validate_params(flatten_params(params), loaded, str(path))
    return params, loaded
