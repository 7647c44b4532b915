"""Reading and writing .safetensors files, with errors that name the file and the cut-off tensor.

The format: an 8-byte little-endian header length, a JSON header {name: {dtype, shape,
data_offsets}}, then the raw little-endian data. Reading parses the header itself so a truncated
file is reported tensor by tensor instead of as an opaque buffer error.
"""
from __future__ import annotations

import json
import os
import struct
from pathlib import Path
from typing import Mapping

import ml_dtypes
import numpy as np

from xlit_jax.checkpoints.validation import CheckpointError

_DTYPES = {
    "F64": np.dtype("<f8"), "F32": np.dtype("<f4"), "F16": np.dtype("<f2"), "BF16": np.dtype(ml_dtypes.bfloat16),
    "I64": np.dtype("<i8"), "I32": np.dtype("<i4"), "I16": np.dtype("<i2"), "I8": np.dtype("i1"),
    "U8": np.dtype("u1"), "BOOL": np.dtype("?"),
}
INDEX_NAME = "model.safetensors.index.json"
WEIGHTS_NAME = "model.safetensors"


def read_header(path: str | os.PathLike) -> tuple[dict, int]:
    """(header without __metadata__, offset where the data section starts)."""
    path = Path(path)
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(8)
        if len(head) < 8:
            raise CheckpointError(f"{path}: truncated safetensors file ({size} bytes, no header length)")
        (header_len,) = struct.unpack("<Q", head)
        if 8 + header_len > size:
            raise CheckpointError(f"{path}: truncated safetensors file: the header needs {header_len} bytes, "
                                  f"the file has {size - 8} after the length field")
        try:
            header = json.loads(f.read(header_len))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise CheckpointError(f"{path}: corrupt safetensors header: {error}") from error
    header.pop("__metadata__", None)
    return header, 8 + header_len


def read_safetensors(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """All tensors of one file as numpy arrays (memory-mapped, read-only)."""
    path = Path(path)
    header, data_start = read_header(path)
    data_size = path.stat().st_size - data_start
    for name, info in header.items():  # check every tensor before reading any
        begin, end = info["data_offsets"]
        if info["dtype"] not in _DTYPES:
            raise CheckpointError(f"{path}: tensor {name} has unsupported dtype {info['dtype']}")
        if end > data_size:
            raise CheckpointError(f"{path}: truncated file: tensor {name} needs data bytes {begin}..{end}, "
                                  f"the file holds {data_size}")
        expected = int(np.prod(info["shape"], dtype=np.int64)) * _DTYPES[info["dtype"]].itemsize
        if end - begin != expected:
            raise CheckpointError(f"{path}: tensor {name}: {end - begin} bytes for shape {info['shape']} "
                                  f"{info['dtype']} (expected {expected})")
    data = np.memmap(path, dtype=np.uint8, mode="r", offset=data_start) if data_size else np.zeros(0, np.uint8)
    tensors = {}
    for name, info in header.items():
        begin, end = info["data_offsets"]
        tensors[name] = data[begin:end].view(_DTYPES[info["dtype"]]).reshape(info["shape"])
    return tensors


def write_safetensors(tensors: Mapping[str, np.ndarray], path: str | os.PathLike,
                      metadata: Mapping[str, str] | None = None) -> None:
    """One .safetensors file (transformers wants metadata {'format': 'pt'})."""
    from safetensors.numpy import save_file

    save_file({name: np.ascontiguousarray(value) for name, value in tensors.items()}, str(path),
              metadata=dict(metadata or {"format": "pt"}))


def write_sharded(tensors: Mapping[str, np.ndarray], directory: str | os.PathLike,
                  max_shard_bytes: int | None = None) -> list[Path]:
    """model.safetensors, or model-0000i-of-0000n.safetensors shards plus their index when too big."""
    directory = Path(directory)
    shards: list[dict[str, np.ndarray]] = [{}]
    shard_bytes = 0
    for name, value in tensors.items():
        if max_shard_bytes and shards[-1] and shard_bytes + value.nbytes > max_shard_bytes:
            shards.append({})
            shard_bytes = 0
        shards[-1][name] = value
        shard_bytes += value.nbytes
    if len(shards) == 1:
        write_safetensors(shards[0], directory / WEIGHTS_NAME)
        return [directory / WEIGHTS_NAME]
    paths, weight_map = [], {}
    for i, shard in enumerate(shards):
        path = directory / f"model-{i + 1:05d}-of-{len(shards):05d}.safetensors"
        write_safetensors(shard, path)
        weight_map.update({name: path.name for name in shard})
        paths.append(path)
    total = sum(value.nbytes for value in tensors.values())
    (directory / INDEX_NAME).write_text(json.dumps({"metadata": {"total_size": total}, "weight_map": weight_map},
                                                   indent=2))
    return paths


def read_safetensors_dir(directory: str | os.PathLike) -> tuple[dict[str, np.ndarray], dict[str, Path]]:
    """(tensors, file of each tensor) from model.safetensors or an index of shards."""
    directory = Path(directory)
    index = directory / INDEX_NAME
    if index.is_file():
        try:
            weight_map = json.loads(index.read_text())["weight_map"]
        except (json.JSONDecodeError, KeyError) as error:
            raise CheckpointError(f"{index}: not a safetensors index ({error})") from error
        files = sorted(set(weight_map.values()))
    else:
        files = [WEIGHTS_NAME]
    tensors, origin = {}, {}
    for file in files:
        path = directory / file
        if not path.is_file():
            raise CheckpointError(f"{path}: missing safetensors file" + (f" listed in {index}" if index.is_file() else ""))
        for name, value in read_safetensors(path).items():
            tensors[name], origin[name] = value, path
    return tensors, origin
