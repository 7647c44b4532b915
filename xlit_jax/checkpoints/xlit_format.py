"""xlit's own parameter checkpoint: `config.json` (MT5Config.to_dict()) and `params/` (an orbax checkpoint).

    PATH/config.json   {"vocab_size": 250112, "emb_dim": 512, ...}
    PATH/params/       orbax StandardCheckpointer directory of the t5x-named parameter tree
    PATH/spiece.model  the vocabulary (optional; written when save_xlit is given a local one)
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Mapping

import jax
import numpy as np

from xlit_jax.checkpoints.inference import resolve_config
from xlit_jax.checkpoints.vocabulary import copy_vocabulary
from xlit_jax.checkpoints.validation import (CheckpointError, expected_shapes, flatten_params, unflatten_params,
                                             validate_params, validate_shapes)
from xlit_jax.models.mt5 import MT5Config

CONFIG_NAME = "config.json"
PARAMS_DIR = "params"


def is_xlit_dir(path: str | os.PathLike) -> bool:
    """A directory with params/ and a config.json of MT5Config fields."""
    path = Path(path)
    if not ((path / PARAMS_DIR).is_dir() and (path / CONFIG_NAME).is_file()):
        return False
    try:
        return "emb_dim" in json.loads((path / CONFIG_NAME).read_text())
    except (OSError, json.JSONDecodeError):
        return False


def _host_array(leaf: Any) -> Any:
    """Numpy for arrays this process holds whole; sharded multi-host arrays go to orbax as they are."""
    if isinstance(leaf, jax.Array) and not leaf.is_fully_addressable:
        return leaf
    return np.asarray(leaf, dtype=np.float32)


def save_xlit(params: Mapping[str, Any], config: MT5Config, path: str | os.PathLike,
              vocabulary_path: str | os.PathLike | None = None) -> Path:
    """Write params (validated against config), config.json and (a local vocabulary's copy) spiece.model to a
    new directory PATH."""
    import orbax.checkpoint as ocp

    path = Path(path).absolute()
    validate_params(flatten_params(params), config, "params")
    if vocabulary_path is not None and "://" not in str(vocabulary_path) and not Path(vocabulary_path).is_file():
        raise CheckpointError(f"vocabulary file {vocabulary_path} not found (nothing written to {path})")
    if (path / PARAMS_DIR).exists():
        raise CheckpointError(f"{path / PARAMS_DIR} already exists; choose a new output directory")
    path.mkdir(parents=True, exist_ok=True)
    checkpointer = ocp.StandardCheckpointer()
    checkpointer.save(path / PARAMS_DIR, jax.tree.map(_host_array, dict(params)))
    checkpointer.wait_until_finished()
    if jax.process_index() == 0:
        (path / CONFIG_NAME).write_text(json.dumps(config.to_dict(), indent=2) + "\n")
        copy_vocabulary(vocabulary_path, path)
    return path


def read_config(path: str | os.PathLike) -> MT5Config:
    """The MT5Config stored in PATH/config.json."""
    config_path = Path(path) / CONFIG_NAME
    try:
        return MT5Config.from_dict(json.loads(config_path.read_text()))
    except (OSError, json.JSONDecodeError, ValueError, TypeError) as error:
        raise CheckpointError(f"{config_path}: not an xlit model config ({error})") from error


def load_xlit(path: str | os.PathLike, config: MT5Config | None = None) -> tuple[dict, MT5Config]:
    """(numpy params, MT5Config) from an xlit directory; with `config`, the stored config must match it."""
    import orbax.checkpoint as ocp

    path = Path(path).absolute()
    config = resolve_config(read_config(path), config, str(path / CONFIG_NAME))
    params_dir = path / PARAMS_DIR
    checkpointer = ocp.StandardCheckpointer()
    try:
        metadata = checkpointer.metadata(params_dir).item_metadata.tree
    except Exception as error:  # orbax raises various types for missing/damaged metadata
        raise CheckpointError(f"{params_dir}: unreadable orbax checkpoint ({type(error).__name__}: "
                              f"{str(error)[:300]})") from error
    stored_shapes = {name: tuple(meta.shape) for name, meta in flatten_params(metadata).items()}
    validate_shapes(stored_shapes, config, str(params_dir))
    target = {name: np.empty(shape, np.float32) for name, shape in expected_shapes(config).items()}
    try:
        params = checkpointer.restore(params_dir, unflatten_params(target))
    except Exception as error:
        raise CheckpointError(f"{params_dir}: could not read the parameters ({type(error).__name__}: "
                              f"{str(error)[:300]})") from error
    validate_params(flatten_params(params), config, str(params_dir))
    return params, config
