"""The parameter tree as flat 'a/b/c' names, and its check against an MT5Config (names and shapes)."""
from __future__ import annotations

from typing import Any, Callable, Mapping

import numpy as np

from xlit_jax.models.mt5 import MT5Config, param_shapes


class CheckpointError(ValueError):
    """A checkpoint is unreadable, incomplete or does not fit the model; the message names file and tensor."""


def flatten_params(tree: Mapping[str, Any], prefix: str = "",
                   is_leaf: Callable[[Any], bool] | None = None) -> dict[str, Any]:
    """{'a/b/c': leaf} from a nested dict (`is_leaf` marks dicts that are leaves)."""
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and not (is_leaf and is_leaf(value)):
            flat.update(flatten_params(value, name + "/", is_leaf))
        else:
            flat[name] = value
    return flat


def unflatten_params(flat: Mapping[str, Any]) -> dict[str, Any]:
    """A nested dict from {'a/b/c': leaf}."""
    tree: dict[str, Any] = {}
    for name, value in flat.items():
        node = tree
        *parents, leaf = name.split("/")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return tree


def expected_shapes(config: MT5Config) -> dict[str, tuple[int, ...]]:
    """{'token_embedder/embedding': (vocab, embed), ...}: every tensor the model has (no allocation)."""
    return {name: tuple(leaf.shape) for name, leaf in flatten_params(param_shapes(config)).items()}


def _listing(names: list[str], limit: int = 6) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f", ... ({len(names)} in all)" if len(names) > limit else "")


def validate_params(flat: Mapping[str, Any], config: MT5Config, source: str) -> None:
    """Raise CheckpointError unless `flat` has exactly the config's tensors with the config's shapes."""
    validate_shapes({name: tuple(np.shape(value)) for name, value in flat.items()}, config, source)


def validate_shapes(shapes: Mapping[str, tuple[int, ...]], config: MT5Config, source: str) -> None:
    """Raise CheckpointError unless `shapes` names exactly the config's tensors with the config's shapes."""
    flat = shapes
    expected = expected_shapes(config)
    missing = sorted(set(expected) - set(flat))
    if missing:
        raise CheckpointError(f"{source}: missing tensor {missing[0]} (missing: {_listing(missing)}); "
                              f"the model config expects {len(expected)} tensors")
    extra = sorted(set(flat) - set(expected))
    if extra:
        raise CheckpointError(f"{source}: unexpected tensor {extra[0]} (not in the model for this config; "
                              f"unexpected: {_listing(extra)})")
    for name, shape in expected.items():
        got = tuple(flat[name])
        if got != shape:
            raise CheckpointError(f"{source}: tensor {name} has shape {got}, the model config expects {shape}")

