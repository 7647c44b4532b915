"""What `xlit train` writes, read back as parameters: a training MODEL_DIR or one of its checkpoints.

    MODEL_DIR/config.json        MT5Config.to_dict() (the xlit format's config.json)
    MODEL_DIR/spiece.model       the run's vocabulary (when it was a local file)
    MODEL_DIR/checkpoints/N/     orbax TrainState (xlit_jax.checkpointing.TrainingCheckpointer)
    MODEL_DIR/export/            an xlit checkpoint of the final params (read by xlit_format)

Only the params of a TrainState are restored; the optimizer state is never built or read.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from xlit_jax.checkpointing import CHECKPOINT_SUBDIR
from xlit_jax.checkpoints.inference import resolve_config
from xlit_jax.checkpoints.validation import (CheckpointError, expected_shapes, flatten_params, unflatten_params,
                                             validate_params, validate_shapes)
from xlit_jax.checkpoints.vocabulary import copy_vocabulary
from xlit_jax.checkpoints.xlit_format import CONFIG_NAME, read_config
from xlit_jax.models.mt5 import MT5Config

EXPORT_SUBDIR = "export"
STATE_ITEM = "state"            # the TrainState item of a step directory (the other is "input")


def _listing(path: Path, limit: int = 10) -> list[str]:
    return sorted(p.name for p in path.iterdir())[:limit] if path.is_dir() else []


def is_step_dir(path: str | os.PathLike) -> bool:
    """MODEL_DIR/checkpoints/N: a numbered directory holding the orbax TrainState item."""
    path = Path(path)
    return path.is_dir() and path.name.isdigit() and (path / STATE_ITEM).is_dir()


def complete_steps(model_dir: str | os.PathLike) -> list[int]:
    """Steps of the finished checkpoints under MODEL_DIR/checkpoints, ascending (in-progress saves excluded)."""
    directory = Path(model_dir) / CHECKPOINT_SUBDIR
    if not directory.is_dir():
        return []
    return sorted(int(child.name) for child in directory.iterdir() if is_step_dir(child))


def is_model_dir(path: str | os.PathLike) -> bool:
    """A training MODEL_DIR: it has a checkpoints/ directory (complete checkpoints or not)."""
    return (Path(path) / CHECKPOINT_SUBDIR).is_dir()


def is_training_checkpoint(path: str | os.PathLike) -> bool:
    """A training MODEL_DIR or one of its MODEL_DIR/checkpoints/N directories."""
    path = Path(path)
    return is_model_dir(path) or (is_step_dir(path) and path.parent.name == CHECKPOINT_SUBDIR)


def resolve_step_dir(path: str | os.PathLike) -> tuple[Path, Path]:
    """(MODEL_DIR, MODEL_DIR/checkpoints/N): `path` itself when it is a step directory, else its newest one."""
    path = Path(path).absolute()
    if is_step_dir(path) and path.parent.name == CHECKPOINT_SUBDIR:
        return path.parent.parent, path
    if not is_model_dir(path):
        raise CheckpointError(f"{path}: not a training run directory (no {CHECKPOINT_SUBDIR}/ and not a "
                              f"{CHECKPOINT_SUBDIR}/N directory); found {_listing(path)}")
    steps = complete_steps(path)
    if not steps:
        raise CheckpointError(f"{path / CHECKPOINT_SUBDIR}: no complete checkpoint yet (found "
                              f"{_listing(path / CHECKPOINT_SUBDIR) or 'nothing'}); wait for the first save "
                              "or use an exported checkpoint")
    return path, path / CHECKPOINT_SUBDIR / str(steps[-1])


def read_run_config(model_dir: str | os.PathLike) -> MT5Config | None:
    """The MT5Config in MODEL_DIR/config.json, None when there is none."""
    return read_config(model_dir) if (Path(model_dir) / CONFIG_NAME).is_file() else None


def _params_shapes(state_dir: Path) -> dict[str, tuple[int, ...]]:
    import orbax.checkpoint as ocp

    try:
        metadata = ocp.PyTreeCheckpointer().metadata(state_dir)
    except Exception as error:  # orbax raises various types for missing/damaged metadata
        raise CheckpointError(f"{state_dir}: unreadable orbax checkpoint ({type(error).__name__}: "
                              f"{str(error)[:300]})") from error
    tree = getattr(metadata, "item_metadata", metadata)
    tree = getattr(tree, "tree", tree)
    if tree is None:
        raise CheckpointError(f"{state_dir}: unreadable orbax checkpoint (no metadata; found "
                              f"{_listing(state_dir) or 'nothing'})")
    if not isinstance(tree, dict) or not isinstance(tree.get("params"), dict):
        found = sorted(tree) if isinstance(tree, dict) else type(tree).__name__
        raise CheckpointError(f"{state_dir}: not an xlit TrainState (no 'params' subtree; found {found})")
    return {name: tuple(meta.shape) for name, meta in flatten_params(tree["params"]).items()}


def load_training(path: str | os.PathLike, config: MT5Config | None = None) -> tuple[dict, MT5Config]:
    """(numpy params, MT5Config) of a MODEL_DIR (newest complete checkpoint) or MODEL_DIR/checkpoints/N.

    The config is MODEL_DIR/config.json; a given config must match it (and supplies it when the
    run has no config.json).
    """
    import orbax.checkpoint as ocp

    model_dir, step_dir = resolve_step_dir(path)
    stored = read_run_config(model_dir)
    if stored is None and config is None:
        raise CheckpointError(f"{model_dir}: no {CONFIG_NAME} (a run from before config.json was written); "
                              "give the model gin file (e.g. --gin_file=models/mt5_small.gin) to say its shape")
    config = resolve_config(stored, config, str(model_dir / CONFIG_NAME)) if stored is not None else config
    state_dir = step_dir / STATE_ITEM
    validate_shapes(_params_shapes(state_dir), config, f"{state_dir} (params)")
    target = {"params": unflatten_params({name: np.empty(shape, np.float32)
                                          for name, shape in expected_shapes(config).items()})}
    restore_args = {"params": unflatten_params({name: ocp.RestoreArgs(restore_type=np.ndarray)
                                                for name in expected_shapes(config)})}
    try:
        restored = ocp.PyTreeCheckpointer().restore(
            state_dir, args=ocp.args.PyTreeRestore(item=target, restore_args=restore_args, partial_restore=True))
    except Exception as error:  # orbax/tensorstore report damaged data with various types
        raise CheckpointError(f"{state_dir}: could not read the parameters ({type(error).__name__}: "
                              f"{str(error)[:300]})") from error
    params = unflatten_params({name: np.asarray(value, np.float32)
                               for name, value in flatten_params(restored["params"]).items()})
    validate_params(flatten_params(params), config, str(state_dir))
    return params, config


def model_dir_of(path: str | os.PathLike) -> Path | None:
    """The MODEL_DIR of MODEL_DIR/checkpoints/N or MODEL_DIR/export, else None."""
    path = Path(path).absolute()
    if is_step_dir(path) and path.parent.name == CHECKPOINT_SUBDIR:
        return path.parent.parent
    if path.name == EXPORT_SUBDIR and is_model_dir(path.parent):
        return path.parent
    return None


def write_run_files(model_dir: str | os.PathLike, config: MT5Config, vocabulary_path: str | None = None) -> None:
    """MODEL_DIR/config.json (MT5Config.to_dict()) and MODEL_DIR/spiece.model (a local vocabulary's copy)."""
    model_dir = Path(model_dir)
    model_dir.mkdir(parents=True, exist_ok=True)
    tmp = model_dir / f"{CONFIG_NAME}.tmp"
    tmp.write_text(json.dumps(config.to_dict(), indent=2) + "\n")
    os.replace(tmp, model_dir / CONFIG_NAME)
    copy_vocabulary(vocabulary_path, model_dir)
