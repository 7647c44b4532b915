"""MT5Config from the shapes of a t5x-named parameter tree, and config-versus-checkpoint checks."""
from __future__ import annotations

import re
from typing import Any, Mapping

from xlit_jax.checkpoints.validation import CheckpointError
from xlit_jax.models.mt5 import MT5Config

# Fields a checkpoint determines; dtype, dropout and remat are run settings, not checkpoint properties.
ARCHITECTURE_FIELDS = (
    "vocab_size", "emb_dim", "num_heads", "num_encoder_layers", "num_decoder_layers", "head_dim", "mlp_dim",
    "mlp_activations", "logits_via_embedding", "relative_attention_num_buckets",
    "relative_attention_max_distance", "layer_norm_epsilon",
)
# Fields shapes alone cannot tell (t5x checkpoints carry no config): only these defaults are assumed.
NOT_IN_SHAPES = ("relative_attention_max_distance", "layer_norm_epsilon")
# Fields a t5x checkpoint's shapes tell, checked against a given config. mlp_activations is left out:
# shapes show gated or not (checked as tensor names), not which activation.
SHAPE_FIELDS = tuple(f for f in ARCHITECTURE_FIELDS if f not in NOT_IN_SHAPES + ("mlp_activations",))


def _shape(shapes: Mapping[str, tuple[int, ...]], name: str, source: str) -> tuple[int, ...]:
    if name not in shapes:
        found = ", ".join(sorted(shapes)[:6]) or "nothing"
        raise CheckpointError(f"{source}: not an mT5 parameter tree: missing tensor {name} (found: {found})")
    return tuple(shapes[name])


def _layer_count(shapes: Mapping[str, tuple[int, ...]], stack: str) -> int:
    indices = {int(m.group(1)) for name in shapes if (m := re.match(rf"{stack}/layers_(\d+)/", name))}
    if indices and indices != set(range(len(indices))):
        missing = sorted(set(range(max(indices) + 1)) - indices)
        raise CheckpointError(f"{stack} layers are not numbered 0..N-1: layers_{missing[0]} is missing")
    return len(indices)


def infer_config(shapes: Mapping[str, tuple[int, ...]], source: str = "checkpoint",
                 **overrides: Any) -> MT5Config:
    """The MT5Config whose parameter tree has these shapes (gated MLP = gated GELU, single = ReLU).

    relative_attention_max_distance and layer_norm_epsilon are not visible in shapes: they take the
    mT5 defaults (128, 1e-6) unless given in `overrides`.
    """
    vocab_size, emb_dim = _shape(shapes, "token_embedder/embedding", source)
    num_heads, num_buckets = _shape(shapes, "encoder/relpos_bias/rel_embedding", source)
    _, joined = _shape(shapes, "encoder/layers_0/attention/query/kernel", source)
    if joined % num_heads:
        raise CheckpointError(f"{source}: encoder/layers_0/attention/query/kernel width {joined} is not a "
                              f"multiple of the {num_heads} heads of encoder/relpos_bias/rel_embedding")
    mlp_prefix = "encoder/layers_0/mlp/"
    if f"{mlp_prefix}wi_0/kernel" in shapes:
        gated = sum(1 for name in shapes if re.fullmatch(rf"{mlp_prefix}wi_\d+/kernel", name))
        activations = ("gelu",) + ("linear",) * (gated - 1)
        mlp_dim = _shape(shapes, f"{mlp_prefix}wi_0/kernel", source)[1]
    else:
        activations = ("relu",)
        mlp_dim = _shape(shapes, f"{mlp_prefix}wi/kernel", source)[1]
    values = dict(
        vocab_size=vocab_size, emb_dim=emb_dim, num_heads=num_heads, head_dim=joined // num_heads,
        mlp_dim=mlp_dim, mlp_activations=activations,
        num_encoder_layers=_layer_count(shapes, "encoder"), num_decoder_layers=_layer_count(shapes, "decoder"),
        relative_attention_num_buckets=num_buckets,
        logits_via_embedding="decoder/logits_dense/kernel" not in shapes,
    )
    values.update(overrides)
    return MT5Config(**values)


def check_config_matches(checkpoint_config: MT5Config, config: MT5Config, source: str,
                         fields: tuple[str, ...] = ARCHITECTURE_FIELDS) -> None:
    """Raise CheckpointError naming every architecture field (of `fields`) where the two configs differ."""
    differences = [f"the checkpoint has {field}={getattr(checkpoint_config, field)!r}, "
                   f"the given model config has {field}={getattr(config, field)!r}"
                   for field in fields if getattr(config, field) != getattr(checkpoint_config, field)]
    if differences:
        raise CheckpointError(f"{source}: config mismatch: " + "; ".join(differences))


def resolve_config(checkpoint_config: MT5Config, config: MT5Config | None, source: str,
                   fields: tuple[str, ...] = ARCHITECTURE_FIELDS) -> MT5Config:
    """The config to load with: the given one after checking it against the checkpoint's `fields`, else the
    checkpoint's. Fields the checkpoint does not state (left out of `fields`) come from the given config;
    run settings (dtype, dropout, remat) always do."""
    if config is None:
        return checkpoint_config
    check_config_matches(checkpoint_config, config, source, fields)
    return config
