"""Pre-tokenized training data as ArrayRecord, read through Grain without TensorFlow.

Layout (written by `xlit cache`, i.e. `seqio_tasks.cache_job`, or by `write_records`):

    DIR/index.json                      see `write_index`: format, task, vocabulary, lengths, shards...
    DIR/rows-SSSSS-of-NNNNN.array_record one record = one model row (packed or not), the features of
                                        `record_layout` as little-endian int32, concatenated

Rows are feature-converted and packed when the cache is written, so reading never re-packs.
Global batch p holds the rows at shuffled positions p*B .. p*B+B-1 of Grain's seeded global
index shuffle (`grain.MapDataset.range(n).shuffle(seed).repeat()`: a fresh permutation per
epoch, computed per index); so the rows of any global batch are a pure function of
(seed, p) and the first batch at any position costs O(1). Process k of n reads rows
k*B/n .. (k+1)*B/n of each global batch: the global batch is the same for any process count.
The resume state is the input position the training checkpoint already stores.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

import gin
import numpy as np

from xlit_jax.data.features import check_task_feature_lengths, feature_length, feature_names

RECORDS_FORMAT = "xlit-array-record-v1"
INDEX_FILE = "index.json"
# One record per chunk: random access decompresses one row, never a group of rows.
WRITER_OPTIONS = "group_size:1"


def shard_file_name(shard: int, num_shards: int) -> str:
    """The file name of shard `shard` of `num_shards`."""
    return f"rows-{shard:05d}-of-{num_shards:05d}.array_record"


def record_layout(task_feature_lengths: Mapping[str, int], pack: bool) -> list[tuple[str, int]]:
    """(feature, length) of every model feature in a record, in record order."""
    return [(name, feature_length(name, task_feature_lengths)) for name in feature_names(pack)]


def encode_row(row: Mapping[str, Any], layout: list[tuple[str, int]], where: str) -> bytes:
    """One model row -> record bytes (features zero-padded to their length, int32 little-endian)."""
    parts = []
    for name, length in layout:
        if name not in row:
            raise ValueError(f"{where}: row lacks feature {name!r} (has {sorted(row)})")
        values = np.asarray(row[name]).reshape(-1)
        if values.shape[0] > length:
            raise ValueError(f"{where}: feature {name!r} has length {values.shape[0]} > {length}")
        padded = np.zeros(length, "<i4")
        padded[: values.shape[0]] = values
        parts.append(padded.tobytes())
    return b"".join(parts)


def decode_rows(records: list[bytes], layout: list[tuple[str, int]]) -> dict[str, np.ndarray]:
    """Record bytes -> a batch {feature: int32 [len(records), length]}."""
    width = sum(length for _, length in layout)
    flat = np.frombuffer(b"".join(records), "<i4").reshape(len(records), width)
    batch, start = {}, 0
    for name, length in layout:
        batch[name] = np.ascontiguousarray(flat[:, start : start + length], np.int32)
        start += length
    return batch


def write_shard(rows: Iterable[Mapping[str, Any]], path: str | os.PathLike, layout: list[tuple[str, int]]) -> dict:
    """Write rows as one ArrayRecord file; return {"file", "num_rows", "sha256"} (sha256 of the records)."""
    from array_record.python.array_record_module import ArrayRecordWriter

    path = Path(path)
    digest = hashlib.sha256()
    writer = ArrayRecordWriter(str(path), WRITER_OPTIONS)
    count = 0
    try:
        for count, row in enumerate(rows, start=1):
            record = encode_row(row, layout, f"{path.name} row {count - 1}")
            digest.update(record)
            writer.write(record)
    finally:
        writer.close()
    return {"file": path.name, "num_rows": count, "sha256": digest.hexdigest()}


def vocabulary_fingerprint(path: str | os.PathLike) -> str:
    """sha256 of a sentencepiece model file's bytes (local, or any etils.epath location such as gs://)."""
    from etils import epath

    return hashlib.sha256(epath.Path(path).read_bytes()).hexdigest()


def write_index(
    output_dir: str | os.PathLike,
    *,
    shards: list[dict],
    task_feature_lengths: Mapping[str, int],
    pack: bool,
    mixture_or_task_name: str | None = None,
    split: str | None = None,
    vocabulary_path: str | None = None,
    vocabulary_sha256: str | None = None,
    examples_per_task: Mapping[str, int] | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> dict:
    """Write DIR/index.json describing finished shards; return the index (fingerprint included)."""
    lengths = check_task_feature_lengths(task_feature_lengths, f"index of {output_dir}")
    shards = sorted(shards, key=lambda s: s["file"])
    num_rows = sum(int(s["num_rows"]) for s in shards)
    if num_rows == 0:
        raise ValueError(f"no rows to index in {output_dir} (shards {[s['file'] for s in shards]})")
    index = {
        "format": RECORDS_FORMAT,
        "mixture_or_task_name": mixture_or_task_name,
        "split": split,
        "vocabulary": {"path": vocabulary_path, "sha256": vocabulary_sha256},
        "task_feature_lengths": lengths,
        "pack": bool(pack),
        "record_layout": [[name, length] for name, length in record_layout(lengths, pack)],
        "examples_per_task": {k: int(v) for k, v in sorted((examples_per_task or {}).items())},
        "num_rows": num_rows,
        "shards": shards,
        "metadata": dict(metadata or {}),
    }
    identity = {k: index[k] for k in ("format", "mixture_or_task_name", "split", "task_feature_lengths", "pack",
                                      "record_layout", "num_rows")}
    identity["vocabulary_sha256"] = vocabulary_sha256
    identity["shards"] = [[s["file"], s["num_rows"], s["sha256"]] for s in shards]
    index["fingerprint"] = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()
    path = Path(output_dir) / INDEX_FILE
    tmp = path.with_name(INDEX_FILE + ".tmp")
    tmp.write_text(json.dumps(index, indent=1))
    os.replace(tmp, path)  # the index appears only when complete
    return index


def write_records(
    rows: Iterable[Mapping[str, Any]],
    output_dir: str | os.PathLike,
    task_feature_lengths: Mapping[str, int],
    pack: bool,
    *,
    rows_per_shard: int = 65536,
    overwrite: bool = False,
    **index_fields: Any,
) -> dict:
    """Write model rows from one process as sharded ArrayRecord + index.json (tests, small data)."""
    output_dir = Path(output_dir)
    if (output_dir / INDEX_FILE).exists() and not overwrite:
        raise FileExistsError(f"{output_dir} already holds records ({INDEX_FILE}); pass overwrite=True to replace it")
    lengths = check_task_feature_lengths(task_feature_lengths, f"write_records({output_dir})")
    layout = record_layout(lengths, pack)
    rows = list(rows)
    chunks = [rows[i : i + rows_per_shard] for i in range(0, len(rows), rows_per_shard)] or [[]]
    output_dir.mkdir(parents=True, exist_ok=True)
    for stale in list(output_dir.glob("rows-*.array_record")) + [output_dir / INDEX_FILE]:
        stale.unlink(missing_ok=True)
    shards = [write_shard(chunk, output_dir / shard_file_name(i, len(chunks)), layout)
              for i, chunk in enumerate(chunks)]
    return write_index(output_dir, shards=shards, task_feature_lengths=lengths, pack=pack, **index_fields)


def read_index(directory: str | os.PathLike) -> dict:
    """Read and check DIR/index.json; errors name the file and the problem."""
    path = Path(directory) / INDEX_FILE
    if not path.is_file():
        raise FileNotFoundError(f"no pre-tokenized records at {directory}: {path} is missing "
                                "(write them with `xlit cache`)")
    try:
        index = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: not valid JSON ({err})") from err
    if index.get("format") != RECORDS_FORMAT:
        raise ValueError(f"{path}: format is {index.get('format')!r}, expected {RECORDS_FORMAT!r} "
                         "(rewrite the cache with `xlit cache`)")
    for key in ("num_rows", "pack", "task_feature_lengths", "record_layout", "shards", "vocabulary", "fingerprint"):
        if key not in index:
            raise ValueError(f"{path}: missing key {key!r}")
    check_task_feature_lengths(index["task_feature_lengths"], str(path))
    for shard in index["shards"]:
        if not (Path(directory) / shard["file"]).is_file():
            raise FileNotFoundError(f"{path}: shard {shard['file']} is missing from {directory}")
    return index


def check_vocabulary(index: Mapping[str, Any], vocabulary_path: str, where: str) -> None:
    """ValueError naming both vocabularies when the cache was not tokenized with `vocabulary_path`.

    The run's model file is hashed; a remote file that this host cannot read (a TF-free host
    without a gs:// file system) passes only when it is the very path the cache recorded.
    """
    cache_vocab = index.get("vocabulary") or {}
    if not cache_vocab.get("sha256"):
        raise ValueError(f"{where} records no vocabulary (written from rows, not by `xlit cache`), so it cannot "
                         f"be checked against the run's {vocabulary_path!r}: bind CACHE_VOCABULARY_PATH = None to "
                         "skip the check, or rewrite the cache with `xlit cache`")
    try:
        run_sha = vocabulary_fingerprint(vocabulary_path)
    except Exception as err:  # noqa: BLE001 - any file-system error of a remote path
        if "://" in vocabulary_path and vocabulary_path == cache_vocab.get("path"):
            return
        raise ValueError(f"{where}: cannot read the run's vocabulary {vocabulary_path!r} to compare it with the "
                         f"cache's ({cache_vocab.get('path')!r}): {err}") from err
    if cache_vocab.get("sha256") != run_sha:
        raise ValueError(f"{where} was tokenized with vocabulary {cache_vocab.get('path')!r} "
                         f"(sha256 {cache_vocab.get('sha256')}), the run's vocabulary is {vocabulary_path!r} "
                         f"(sha256 {run_sha}): rewrite the cache with `xlit cache --vocabulary {vocabulary_path}`")


@gin.configurable(module="xlit")
class RecordData:
    """A TensorFlow-free batch source over ArrayRecord rows written by `xlit cache`, read through Grain."""

    def __init__(
        self,
        path: str = gin.REQUIRED,
        task_feature_lengths: Mapping[str, int] | None = None,
        vocabulary_path: str | None = None,
        shuffle: bool = True,
        seed: int = 0,
        repeat: bool = True,
    ):
        import grain

        self.path = Path(path)
        self.index = read_index(self.path)
        where = f"cache {self.path}"
        cache_lengths = dict(self.index["task_feature_lengths"])
        if task_feature_lengths is not None:
            run_lengths = check_task_feature_lengths(task_feature_lengths, "the run's TASK_FEATURE_LENGTHS")
            if run_lengths != cache_lengths:
                raise ValueError(f"{where} holds rows of feature lengths {cache_lengths}, the run wants {run_lengths} "
                                 "(TASK_FEATURE_LENGTHS): write a cache with these lengths (xlit cache "
                                 "--task_feature_lengths ...) or set TASK_FEATURE_LENGTHS to the cache's")
        if vocabulary_path is not None:
            check_vocabulary(self.index, str(vocabulary_path), where)
        self.task_feature_lengths = cache_lengths
        self.pack = bool(self.index["pack"])
        self.layout = [(name, int(length)) for name, length in self.index["record_layout"]]
        if self.layout != record_layout(cache_lengths, self.pack):
            raise ValueError(f"{self.path / INDEX_FILE}: record_layout {self.layout} does not match "
                             f"pack={self.pack} and lengths {cache_lengths}")
        self.num_rows = int(self.index["num_rows"])
        self.shuffle, self.seed, self.repeat = shuffle, int(seed), repeat
        self._source = grain.sources.ArrayRecordDataSource([str(self.path / s["file"]) for s in self.index["shards"]])
        if len(self._source) != self.num_rows:
            raise ValueError(f"{self.path / INDEX_FILE}: num_rows {self.num_rows}, the shards hold {len(self._source)}")
        order = grain.MapDataset.range(self.num_rows)
        self._order = order.shuffle(seed=self.seed).repeat() if shuffle else order.repeat()

    def row_keys(self, first: int, count: int) -> list[int]:
        """Record keys at global row positions first .. first+count-1 (across epochs)."""
        return [int(self._order[i]) for i in range(first, first + count)]

    def global_batch_rows(self, global_batch_size: int, position: int) -> list[int]:
        """Record keys of global batch number `position`: a pure function of (seed, position)."""
        return self.row_keys(position * global_batch_size, global_batch_size)

    def batches(
        self, global_batch_size: int, process_index: int = 0, process_count: int = 1, start_position: int = 0
    ) -> Iterator[dict[str, np.ndarray]]:
        """This process's slice of global batches start_position, start_position+1, ..."""
        if global_batch_size <= 0 or global_batch_size % process_count:
            raise ValueError(f"batch size {global_batch_size} is not a positive multiple of the process count "
                             f"{process_count}")
        if global_batch_size > self.num_rows:
            raise ValueError(f"cache {self.path} has {self.num_rows} rows, fewer than one batch of {global_batch_size}")
        local = global_batch_size // process_count
        position = int(start_position)
        while True:
            first = position * global_batch_size + process_index * local
            if not self.repeat and position * global_batch_size + global_batch_size > self.num_rows:
                return  # one epoch, the last partial batch dropped
            keys = self.row_keys(first, local)
            yield decode_rows(self._source.__getitems__(keys), self.layout)
            position += 1
