"""Optional remote backends: the same dataset from the Hugging Face Hub or TFDS, same schema.

Thin and lazy: `datasets` / `tensorflow_datasets` are imported only here, only when a
source is loaded with backend="hf" / "tfds". Both need the network (or a filled local
cache); without the library, the network or a known remote id the error says so.
`datasets` is not a dependency of xlit.
"""
from __future__ import annotations

from typing import Any

from seqio_tasks.sources.errors import DataError, MissingDataError


class RemoteBackendError(DataError):
    """A remote backend cannot serve this source (library missing, no remote id, or no network)."""


def _remote_ref(source: Any, backend: str):
    ref = getattr(source, backend, None)
    if ref is None:
        raise RemoteBackendError(f"source {source.name!r} has no {backend!r} backend; load it from local files "
                                 f"(backend='local', files under $XLIT_DATA_DIR: {source.upstream})")
    return ref


def _remote_split(source: Any, ref: Any, split: str) -> str:
    if ref.splits is None:
        return split
    if split not in ref.splits:
        raise RemoteBackendError(f"source {source.name!r}: split {split!r} has no remote counterpart "
                                 f"(remote splits: {dict(ref.splits)})")
    return ref.splits[split]


def load_remote(source: Any, split: str, backend: str) -> list[dict]:
    """Loads `split` of `source` through `backend` ('hf' or 'tfds') into the family schema."""
    if backend not in ("hf", "tfds"):
        raise ValueError(f"backend must be 'local', 'hf' or 'tfds', got {backend!r}")
    ref = _remote_ref(source, backend)
    remote_split = _remote_split(source, ref, split)
    rows = _hf_rows(ref, remote_split) if backend == "hf" else _tfds_rows(ref, remote_split)
    if ref.convert is None:
        raise RemoteBackendError(f"source {source.name!r}: no mapping from {backend} rows to the {source.family!r} schema")
    convert = ref.convert
    examples = []
    for idx, row in enumerate(rows):
        examples.append({"idx": idx, **convert(row)})
    return examples


def _hf_rows(ref: Any, split: str):
    try:
        import datasets  # noqa: PLC0415  (optional, lazy)
    except ImportError:
        raise RemoteBackendError("backend='hf' needs the `datasets` library (pip install datasets), which xlit "
                                 "does not install; or use backend='local' with files under $XLIT_DATA_DIR") from None
    try:
        return datasets.load_dataset(ref.name, ref.config, split=split)
    except Exception as err:  # noqa: BLE001  (network, auth and missing-dataset errors all land here)
        raise MissingDataError(f"could not load Hugging Face dataset {ref.name!r} (config {ref.config!r}, split "
                               f"{split!r}): {type(err).__name__}: {err}. The Hub must be reachable (or cached); "
                               f"otherwise use backend='local' with files under $XLIT_DATA_DIR") from err


def _tfds_rows(ref: Any, split: str):
    try:
        import tensorflow_datasets as tfds  # noqa: PLC0415  (optional, lazy)
    except ImportError:
        raise RemoteBackendError("backend='tfds' needs tensorflow-datasets (the `seqio` extra of xlit)") from None
    try:
        dataset = tfds.load(ref.name, split=split)
    except Exception as err:  # noqa: BLE001
        raise MissingDataError(f"could not load TFDS dataset {ref.name!r} split {split!r}: {type(err).__name__}: "
                               f"{err}. TFDS must download and prepare it (network) or find it in its data dir; "
                               f"otherwise use backend='local'") from err
    return (_decode(row) for row in tfds.as_numpy(dataset))


def _decode(row: Any) -> Any:
    if isinstance(row, dict):
        return {key: _decode(value) for key, value in row.items()}
    if isinstance(row, bytes):
        return row.decode("utf-8")
    if hasattr(row, "tolist"):
        return _decode(row.tolist())
    if isinstance(row, list):
        return [_decode(value) for value in row]
    return row
