"""Pre-tokenized training data: a directory of .npy shards + index.json, read without TensorFlow.

Layout written by `write_cache` (and `xlit cache`):

    DIR/index.json                 format, num_rows, pack, task_feature_lengths, features, shards, metadata
    DIR/{feature}-{shard:05d}.npy  int32 [rows_in_shard, length] per model feature

Rows are already feature-converted (t5x encoder-decoder features, packed or not). The reader
shuffles rows with a permutation drawn from (seed, epoch), cuts the global row order into
global batches, and gives each process its contiguous slice of every global batch; so a
global batch is the same whatever the process count, and batch number `position` can be
produced directly (resumption costs nothing).
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

import gin
import numpy as np

from xlit_jax.data.features import feature_length, feature_names

CACHE_FORMAT = "xlit-cache-v1"
INDEX_FILE = "index.json"


def _shard_file(feature: str, shard: int) -> str:
    return f"{feature}-{shard:05d}.npy"


def write_cache(
    examples: Iterable[Mapping[str, Any]],
    output_dir: str | os.PathLike,
    task_feature_lengths: Mapping[str, int],
    pack: bool,
    metadata: Mapping[str, Any] | None = None,
    rows_per_shard: int = 65536,
    overwrite: bool = False,
) -> dict:
    """Write feature-converted rows as .npy shards + index.json; return the index."""
    output_dir = Path(output_dir)
    if (output_dir / INDEX_FILE).exists() and not overwrite:
        raise FileExistsError(f"{output_dir} already holds a cache ({INDEX_FILE}); pass overwrite=True to replace it")
    names = feature_names(pack)
    lengths = {name: feature_length(name, task_feature_lengths) for name in names}
    tmp_dir = output_dir.with_name(output_dir.name + ".tmp")
    shutil.rmtree(tmp_dir, ignore_errors=True)
    tmp_dir.mkdir(parents=True)
    shards: list[dict] = []
    buffer: dict[str, list[np.ndarray]] = {name: [] for name in names}

    def flush() -> None:
        rows = len(buffer[names[0]])
        if not rows:
            return
        shard = len(shards)
        files = {}
        for name in names:
            np.save(tmp_dir / _shard_file(name, shard), np.stack(buffer[name]).astype(np.int32))
            files[name] = _shard_file(name, shard)
            buffer[name].clear()
        shards.append({"num_rows": rows, "files": files})

    num_rows = 0
    for row_number, example in enumerate(examples):
        for name in names:
            if name not in example:
                raise ValueError(f"example {row_number} lacks feature {name!r} (has {sorted(example)}); pack={pack}")
            values = np.asarray(example[name]).reshape(-1)
            if values.shape[0] > lengths[name]:
                raise ValueError(
                    f"example {row_number} feature {name!r} has length {values.shape[0]} > {lengths[name]}"
                )
            padded = np.zeros(lengths[name], np.int32)
            padded[: values.shape[0]] = values
            buffer[name].append(padded)
        num_rows += 1
        if len(buffer[names[0]]) >= rows_per_shard:
            flush()
    flush()
    if num_rows == 0:
        shutil.rmtree(tmp_dir)
        raise ValueError(f"no examples to write to {output_dir}")
    index = {
        "format": CACHE_FORMAT,
        "num_rows": num_rows,
        "pack": bool(pack),
        "task_feature_lengths": {k: int(v) for k, v in task_feature_lengths.items()},
        "features": {name: {"length": lengths[name], "dtype": "int32"} for name in names},
        "shards": shards,
        "metadata": dict(metadata or {}),
    }
    (tmp_dir / INDEX_FILE).write_text(json.dumps(index, indent=1))
    if output_dir.exists():
        shutil.rmtree(output_dir)
    os.replace(tmp_dir, output_dir)
    return index


def read_cache_index(directory: str | os.PathLike) -> dict:
    """Read and check a cache's index.json; errors name the file and the problem."""
    path = Path(directory) / INDEX_FILE
    if not path.is_file():
        raise FileNotFoundError(f"no pre-tokenized cache at {directory}: {path} is missing (write one with `xlit cache`)")
    try:
        index = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: not valid JSON ({err})") from err
    if index.get("format") != CACHE_FORMAT:
        raise ValueError(f"{path}: format is {index.get('format')!r}, expected {CACHE_FORMAT!r}")
    for key in ("num_rows", "pack", "task_feature_lengths", "features", "shards"):
        if key not in index:
            raise ValueError(f"{path}: missing key {key!r}")
    return index


@gin.configurable(module="xlit")
class CachedData:
    """A TensorFlow-free batch source over a directory written by `xlit cache`."""

    def __init__(self, directory: str = gin.REQUIRED, shuffle: bool = True, seed: int = 0, repeat: bool = True):
        self.directory = Path(directory)
        self.index = read_cache_index(self.directory)
        self.shuffle, self.seed, self.repeat = shuffle, int(seed), repeat
        self.pack = bool(self.index["pack"])
        self.task_feature_lengths = dict(self.index["task_feature_lengths"])
        self.num_rows = int(self.index["num_rows"])
        self._columns = self._open_shards()
        self._shard_starts = np.cumsum([0] + [s["num_rows"] for s in self.index["shards"]])

    def _open_shards(self) -> dict[str, list[np.ndarray]]:
        columns: dict[str, list[np.ndarray]] = {name: [] for name in self.index["features"]}
        for shard_number, shard in enumerate(self.index["shards"]):
            for name, spec in self.index["features"].items():
                path = self.directory / shard["files"][name]
                if not path.is_file():
                    raise FileNotFoundError(f"cache {self.directory}: shard file {path.name} is missing")
                array = np.load(path, mmap_mode="r")
                if array.shape != (shard["num_rows"], spec["length"]):
                    raise ValueError(
                        f"cache {self.directory}: {path.name} has shape {array.shape}, "
                        f"index says {(shard['num_rows'], spec['length'])}"
                    )
                columns[name].append(array)
        return columns

    def row_order(self, epoch: int) -> np.ndarray:
        """Global row order of one epoch: a permutation drawn from (seed, epoch), or identity."""
        if not self.shuffle:
            return np.arange(self.num_rows)
        return np.random.default_rng([self.seed, epoch]).permutation(self.num_rows)

    def batches_per_epoch(self, global_batch_size: int) -> int:
        """Whole global batches per epoch (the remainder of an epoch is dropped)."""
        return self.num_rows // global_batch_size

    def _gather(self, rows: np.ndarray) -> dict[str, np.ndarray]:
        shard_of_row = np.searchsorted(self._shard_starts, rows, side="right") - 1
        batch = {}
        for name, shards in self._columns.items():
            out = np.empty((rows.shape[0], shards[0].shape[1]), np.int32)
            for shard in np.unique(shard_of_row):
                where = shard_of_row == shard
                out[where] = shards[shard][rows[where] - self._shard_starts[shard]]
            batch[name] = out
        return batch

    def batches(
        self, global_batch_size: int, process_index: int = 0, process_count: int = 1, start_position: int = 0
    ) -> Iterator[dict[str, np.ndarray]]:
        """This process's slice of global batches start_position, start_position+1, ..."""
        if global_batch_size % process_count:
            raise ValueError(f"batch size {global_batch_size} is not divisible by the process count {process_count}")
        per_epoch = self.batches_per_epoch(global_batch_size)
        if per_epoch == 0:
            raise ValueError(f"cache {self.directory} has {self.num_rows} rows, fewer than one batch of {global_batch_size}")
        local = global_batch_size // process_count
        position, order, order_epoch = int(start_position), None, -1
        while True:
            epoch, within = divmod(position, per_epoch)
            if epoch > 0 and not self.repeat:
                return
            if epoch != order_epoch:
                order, order_epoch = self.row_order(epoch), epoch
            rows = order[within * global_batch_size : (within + 1) * global_batch_size]
            yield self._gather(rows[process_index * local : (process_index + 1) * local])
            position += 1
