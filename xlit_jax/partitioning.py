"""Partitioning: the ('data', 'model') device mesh and t5x's logical-axis-name rules.

Parameters and activations are annotated with logical axis names ('embed', 'mlp', 'heads', ...);
the rules below map each name to a mesh axis or to None (replicated). A name whose mesh axis is
already used by an earlier dimension of the same array stays unsharded (flax's fallback), which
is how `embed -> data` (fsdp) coexists with `batch -> data` on activations.

Layouts:
  num_partitions=1               pure data parallelism (params replicated)
  num_partitions=k               k-way tensor (model) parallelism on heads/mlp/vocab, data on the rest
  fsdp=True                      params and optimizer state also sharded over 'data' on 'embed'
"""
from __future__ import annotations

from typing import Any, Sequence

import flax.linen as nn
import gin
import jax
import numpy as np
from jax.sharding import AxisType, NamedSharding, PartitionSpec

LogicalRules = tuple[tuple[str, str | None], ...]

# t5x's standard rules (1-D activation and 1-D parameter partitioning), plus its global ones.
STANDARD_LOGICAL_AXIS_RULES: LogicalRules = (
    ("batch", "data"),
    ("vocab", "model"),
    ("embed", None),
    ("mlp", "model"),
    ("heads", "model"),
    ("kv", None),
    ("joined_kv", "model"),
    ("relpos_buckets", None),
    ("abspos_buckets", None),
    ("length", None),
    ("layers", None),
    ("stack", None),
    ("mlp_activations", None),
)


def fsdp_logical_axis_rules(rules: LogicalRules = STANDARD_LOGICAL_AXIS_RULES) -> LogicalRules:
    """The rules with parameters' 'embed' dimension sharded over 'data' (t5x's 2-D parameter partitioning)."""
    return tuple((name, "data") if name == "embed" else (name, axis) for name, axis in rules)


def _is_spec(x: Any) -> bool:
    return x is None or isinstance(x, PartitionSpec)


@gin.configurable(module="xlit")
class Partitioner:
    """A ('data', 'model') mesh over all (global) devices plus logical-to-mesh axis rules."""

    def __init__(self, num_partitions: int = 1, fsdp: bool = False,
                 logical_axis_rules: Sequence[tuple[str, str | None]] | None = None,
                 devices: Sequence[jax.Device] | None = None):
        devices = list(jax.devices() if devices is None else devices)
        if num_partitions < 1 or len(devices) % num_partitions:
            raise ValueError(f"Partitioner.num_partitions={num_partitions} must divide the number of devices "
                             f"({len(devices)})")
        self.num_partitions = num_partitions
        self.fsdp = fsdp
        rules = tuple(tuple(rule) for rule in (logical_axis_rules or STANDARD_LOGICAL_AXIS_RULES))
        self.rules: LogicalRules = fsdp_logical_axis_rules(rules) if fsdp else rules
        shape = (len(devices) // num_partitions, num_partitions)
        axis_types = (AxisType.Auto,) * 2
        if len(devices) == len(jax.devices()) and set(devices) == set(jax.devices()):
            self.mesh = jax.make_mesh(shape, ("data", "model"), axis_types=axis_types)
        else:  # an explicit device subset: keep the given order
            self.mesh = jax.sharding.Mesh(np.asarray(devices).reshape(shape), ("data", "model"),
                                          axis_types=axis_types)

    @property
    def data_size(self) -> int:
        """Number of devices along 'data'."""
        return self.mesh.shape["data"]

    def logical_to_mesh_spec(self, logical_spec: PartitionSpec | None) -> PartitionSpec:
        """Mesh PartitionSpec of one array from its logical PartitionSpec (None: replicated)."""
        if logical_spec is None:
            return PartitionSpec()
        return nn.logical_to_mesh_axes(tuple(logical_spec), self.rules)

    def logical_to_sharding(self, logical_spec_tree: Any) -> Any:
        """Tree of NamedSharding from a tree of logical PartitionSpecs (None leaves: replicated)."""
        return jax.tree.map(lambda spec: NamedSharding(self.mesh, self.logical_to_mesh_spec(spec)),
                            logical_spec_tree, is_leaf=_is_spec)

    def batch_sharding(self) -> NamedSharding:
        """Sharding of [batch, length] inputs: rows over 'data', replicated over 'model'."""
        return NamedSharding(self.mesh, PartitionSpec("data"))

    def replicated(self) -> NamedSharding:
        """Fully replicated sharding (scalars, metrics)."""
        return NamedSharding(self.mesh, PartitionSpec())

    def axis_rules_context(self):
        """Context with these logical axis rules for flax's activation constraints."""
        return nn.logical_axis_rules(self.rules)

    def __repr__(self) -> str:
        return (f"Partitioner(mesh={dict(self.mesh.shape)}, num_partitions={self.num_partitions}, "
                f"fsdp={self.fsdp})")
