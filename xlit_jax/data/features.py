"""The t5x encoder-decoder batch: feature names, shapes, and the batch-producer interface."""
from __future__ import annotations

from typing import Iterator, Mapping, Protocol

import numpy as np

UNPACKED_FEATURES = ("encoder_input_tokens", "decoder_input_tokens", "decoder_target_tokens", "decoder_loss_weights")
PACKED_EXTRA_FEATURES = (
    "encoder_segment_ids",
    "decoder_segment_ids",
    "encoder_positions",
    "decoder_positions",
)
ENCODER_FEATURES = ("encoder_input_tokens", "encoder_segment_ids", "encoder_positions")


def feature_names(pack: bool) -> tuple[str, ...]:
    """Names of the model features in a batch, packed (with segment ids/positions) or not."""
    return UNPACKED_FEATURES + (PACKED_EXTRA_FEATURES if pack else ())


def check_task_feature_lengths(task_feature_lengths: Mapping[str, int], where: str) -> dict[str, int]:
    """The lengths as a dict; ValueError naming the key when `inputs`/`targets` is missing or not a positive int."""
    if not isinstance(task_feature_lengths, Mapping):
        raise ValueError(f"{where}: task_feature_lengths must be a mapping like {{'inputs': 512, 'targets': 128}}, "
                         f"got {task_feature_lengths!r}")
    lengths = dict(task_feature_lengths)
    for key in ("inputs", "targets"):
        if key not in lengths:
            raise ValueError(f"{where}: task_feature_lengths has no {key!r} length: {lengths}")
    for key, value in lengths.items():
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
            raise ValueError(f"{where}: task_feature_lengths[{key!r}] must be a positive integer, got {value!r}")
    return {key: int(value) for key, value in lengths.items()}


def feature_length(name: str, task_feature_lengths: Mapping[str, int]) -> int:
    """Sequence length of one model feature: encoder features use `inputs`, decoder ones `targets`."""
    key = "inputs" if name in ENCODER_FEATURES else "targets"
    if key not in task_feature_lengths:
        raise KeyError(f"task_feature_lengths has no {key!r} (needed for {name}): {dict(task_feature_lengths)}")
    return int(task_feature_lengths[key])


def batch_spec(batch_size: int, task_feature_lengths: Mapping[str, int], pack: bool) -> dict[str, tuple[tuple[int, int], np.dtype]]:
    """Shape and dtype of every feature of a batch of `batch_size` rows."""
    return {
        name: ((batch_size, feature_length(name, task_feature_lengths)), np.dtype(np.int32))
        for name in feature_names(pack)
    }


def check_batch(batch: Mapping[str, np.ndarray], spec: Mapping[str, tuple[tuple[int, int], np.dtype]], where: str) -> None:
    """Raise a ValueError naming the feature when `batch` does not match `spec`."""
    missing = sorted(set(spec) - set(batch))
    if missing:
        raise ValueError(f"{where}: batch lacks features {missing}; has {sorted(batch)}")
    for name, (shape, _) in spec.items():
        if tuple(batch[name].shape) != tuple(shape):
            raise ValueError(f"{where}: feature {name} has shape {tuple(batch[name].shape)}, expected {tuple(shape)}")


class BatchSource(Protocol):
    """Something that yields this process's share of global batches from a given position.

    `position` counts global batches already consumed; the same (seed, position) gives the
    same batches, which is what makes resumption exact.
    """

    task_feature_lengths: Mapping[str, int]
    pack: bool

    def batches(
        self, global_batch_size: int, process_index: int, process_count: int, start_position: int = 0
    ) -> Iterator[dict[str, np.ndarray]]:
        """Local (per-process) numpy batches of global batch number start_position, +1, ..."""
        ...
