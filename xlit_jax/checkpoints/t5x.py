"""Reading t5x checkpoints: a msgpack file with arrays inline, or a checkpoint directory whose
`checkpoint` msgpack holds TensorStore zarr specs with one folder per array (the released mT5 layout).

The state is `{'version', 'optimizer': {'target': params, 'state': optimizer state}}`; only the
target (the parameters) is read. t5x's parameter names are xlit's, so no renaming is needed.
Specs name their folder relative to the checkpoint directory (kvstore driver 'file', 'gfile' or
'gcs' with a placeholder bucket); every folder is looked up next to the `checkpoint` file, so a
checkpoint copied from gs:// to a local disk reads as is.
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from xlit_jax.checkpoints.inference import SHAPE_FIELDS, infer_config, resolve_config
from xlit_jax.checkpoints.validation import (CheckpointError, flatten_params, unflatten_params,
                                             validate_params, validate_shapes)
from xlit_jax.models.mt5 import MT5Config

CHECKPOINT_FILE = "checkpoint"


def resolve_checkpoint(path: str | os.PathLike) -> Path:
    """The msgpack file: `path` itself, `path/checkpoint`, or the newest `path/checkpoint_N/checkpoint`."""
    path = Path(path)
    if path.is_file():
        return path
    if (path / CHECKPOINT_FILE).is_file():
        return path / CHECKPOINT_FILE
    steps = sorted((int(m.group(1)), child) for child in path.glob("checkpoint_*")
                   if (m := re.fullmatch(r"checkpoint_(\d+)", child.name)) and (child / CHECKPOINT_FILE).is_file())
    if steps:
        return steps[-1][1] / CHECKPOINT_FILE
    raise CheckpointError(f"{path}: no t5x checkpoint here (no '{CHECKPOINT_FILE}' file or checkpoint_N/ directory)")


def is_t5x(path: str | os.PathLike) -> bool:
    """A t5x msgpack file or a directory holding one (directly or in checkpoint_N/)."""
    try:
        resolve_checkpoint(path)
    except CheckpointError:
        return False
    return True


def read_state(path: str | os.PathLike) -> tuple[dict, Path]:
    """(the checkpoint's msgpack tree with specs still unread, the msgpack file)."""
    from flax import serialization

    file = resolve_checkpoint(path)
    data = file.read_bytes()
    try:
        state = serialization.msgpack_restore(data)
    except Exception as error:  # msgpack raises several types for cut or corrupt data
        raise CheckpointError(f"{file}: not a readable t5x msgpack checkpoint ({type(error).__name__}: "
                              f"{str(error)[:200]})") from error
    if not isinstance(state, dict):
        raise CheckpointError(f"{file}: t5x checkpoint holds a {type(state).__name__}, not a state dict")
    return state, file


def _is_spec(value: Any) -> bool:
    return isinstance(value, Mapping) and "driver" in value and ("kvstore" in value or "path" in value)


def _as_spec(value: Any) -> Mapping | None:
    if _is_spec(value):
        return value
    if isinstance(value, str) and value.lstrip().startswith("{"):
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError:
            return None
        return parsed if _is_spec(parsed) else None
    return None


def _array_folder(spec: Mapping, checkpoint_dir: Path, name: str) -> Path:
    """The local folder of one array: the spec's path taken relative to the checkpoint directory."""
    kvstore = spec.get("kvstore", {})
    if isinstance(kvstore, str):
        relative = re.sub(r"^[a-z0-9]+://", "", kvstore)
        relative = relative.split("/", 1)[1] if kvstore.startswith("gs://") and "/" in relative else relative
    else:
        relative = kvstore.get("path") or spec.get("path") or ""
        relative = re.sub(r"^(gs|file)://", "", relative)
    relative = relative.strip("/")
    if not relative:
        raise CheckpointError(f"{checkpoint_dir}: tensor {name}: TensorStore spec names no path ({dict(spec)})")
    for candidate in (checkpoint_dir / relative, checkpoint_dir / Path(relative).name):
        if candidate.is_dir():
            return candidate
    raise CheckpointError(f"{checkpoint_dir}: tensor {name}: array folder {Path(relative).name!r} is missing "
                          "(copy every folder of the checkpoint directory, not only the 'checkpoint' file)")


def read_tensorstore_array(spec: Mapping, checkpoint_dir: Path, name: str) -> np.ndarray:
    """One zarr array of a t5x checkpoint, read with tensorstore from the local folder."""
    import tensorstore as ts

    folder = _array_folder(spec, checkpoint_dir, name)
    local = {k: v for k, v in spec.items() if k not in ("kvstore", "path")}
    local["driver"] = spec.get("driver", "zarr")
    local["kvstore"] = {"driver": "file", "path": str(folder) + "/"}
    spec_shape = spec.get("metadata", {}).get("shape")
    expected_shape = None if spec_shape is None else tuple(spec_shape)
    try:
        if (folder / ".zarray").is_file():  # the array's own metadata wins
            local.pop("metadata", None)
            array = ts.open(local, open=True, read=True).result()
        else:  # metadata only in the spec (as in t5x's msgpack): trust it
            array = ts.open(local, open=True, read=True, assume_metadata=True).result()
        value = np.asarray(array.read().result())
    except Exception as error:  # tensorstore reports damaged chunks and bad metadata as ValueError etc.
        raise CheckpointError(f"{folder}: tensor {name} is unreadable ({type(error).__name__}: "
                              f"{str(error)[:300]})") from error
    if expected_shape is not None and tuple(value.shape) != expected_shape:
        raise CheckpointError(f"{folder}: tensor {name} has shape {value.shape}, its spec says {expected_shape}")
    return value


def materialize(tree: Any, checkpoint_dir: Path, prefix: str = "") -> Any:
    """The tree with every TensorStore spec replaced by its array (inline arrays kept)."""
    spec = _as_spec(tree)
    if spec is not None:
        return read_tensorstore_array(spec, checkpoint_dir, prefix.rstrip("/"))
    if isinstance(tree, Mapping):
        return {key: materialize(value, checkpoint_dir, f"{prefix}{key}/") for key, value in tree.items()}
    if isinstance(tree, (list, tuple)):
        return [materialize(value, checkpoint_dir, f"{prefix}{i}/") for i, value in enumerate(tree)]
    return np.asarray(tree)


def read_t5x(path: str | os.PathLike) -> dict:
    """The whole checkpoint state (parameters and optimizer state) as numpy arrays."""
    state, file = read_state(path)
    return materialize(state, file.parent)


def params_subtree(state: Mapping, source: str) -> tuple[Any, str]:
    """(the parameter tree, where it was): optimizer/target, target, params, or a bare parameter tree."""
    for keys in (("optimizer", "target"), ("target",), ("params",), ("optimizer", "params")):
        node: Any = state
        for key in keys:
            node = node.get(key) if isinstance(node, Mapping) else None
        if node is not None:
            return node, "/".join(keys)
    if "token_embedder" in state:
        return state, ""
    raise CheckpointError(f"{source}: no parameters in this t5x state: expected optimizer/target, target or "
                          f"params (top-level keys: {sorted(state)})")


def load_t5x(path: str | os.PathLike, config: MT5Config | None = None) -> tuple[dict, MT5Config]:
    """(params, MT5Config) from a t5x checkpoint: the config inferred from shapes, or the given one once it
    agrees with them (it supplies relative_attention_max_distance, layer_norm_epsilon and the activation)."""
    state, file = read_state(path)
    source = str(file.parent if file.name == CHECKPOINT_FILE else file)
    tree, where = params_subtree(state, source)
    if not isinstance(tree, Mapping):
        raise CheckpointError(f"{source}: {where or 'state'} is a {type(tree).__name__}, not a parameter tree")
    flat_specs = flatten_params(tree, is_leaf=_is_spec)
    shapes = {name: _leaf_shape(leaf, file.parent, name) for name, leaf in flat_specs.items()}
    described = f"{source} ({where})" if where else source
    # The given config (gin MODEL_CONFIG) must agree with what shapes tell and supplies what they cannot.
    config = resolve_config(infer_config(shapes, described), config, described, SHAPE_FIELDS)
    validate_shapes(shapes, config, described)  # before reading any array data
    # One array at a time to float32, so a bfloat16 checkpoint never sits in memory twice.
    flat = {name: np.asarray(materialize(leaf, file.parent, name), dtype=np.float32)
            for name, leaf in flat_specs.items()}
    validate_params(flat, config, described)
    return unflatten_params(flat), config


def _leaf_shape(leaf: Any, checkpoint_dir: Path, name: str) -> tuple[int, ...]:
    """Shape of an inline array, or of a stored one from its spec (or its .zarray) without reading data."""
    spec = _as_spec(leaf)
    if spec is None:
        return tuple(np.shape(leaf))
    shape = spec.get("metadata", {}).get("shape")
    if shape is None:
        zarray = _array_folder(spec, checkpoint_dir, name) / ".zarray"
        try:
            shape = json.loads(zarray.read_text())["shape"]
        except (OSError, json.JSONDecodeError, KeyError) as error:
            raise CheckpointError(f"{zarray}: tensor {name}: no shape in its spec or metadata ({error})") from error
    return tuple(int(n) for n in shape)
