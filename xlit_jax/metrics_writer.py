"""Training metrics out: MODEL_DIR/train_metrics.jsonl (one object per step) and TensorBoard events."""
from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any, Mapping

JSONL_NAME = "train_metrics.jsonl"
TENSORBOARD_SUBDIR = "tensorboard"


def read_jsonl(path: str | os.PathLike) -> list[dict]:
    """Records of a metrics file; a torn last line (a killed writer) is skipped."""
    path = Path(path)
    if not path.exists():
        return []
    records = []
    for line in path.read_text().splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return records


def truncate_jsonl(path: str | os.PathLike, max_step: int) -> int:
    """Keep only records with step <= max_step (atomically); return how many were kept."""
    path = Path(path)
    if not path.exists():
        return 0
    kept = [r for r in read_jsonl(path) if isinstance(r.get("step"), int) and r["step"] <= max_step]
    tmp = path.with_suffix(".jsonl.tmp")
    tmp.write_text("".join(json.dumps(r) + "\n" for r in kept))
    os.replace(tmp, path)
    return len(kept)


def _json_value(value: Any) -> Any:
    if value is None or isinstance(value, (str, bool, int)):
        return value
    value = float(value)
    return value if math.isfinite(value) else str(value)  # NaN/inf are not JSON


class MetricsWriter:
    """Writes per-step scalar records to JSONL and TensorBoard (only where `enabled`)."""

    def __init__(self, model_dir: str | os.PathLike, start_step: int = 0, enabled: bool = True, tensorboard: bool = True):
        self.model_dir = Path(model_dir)
        self.enabled = enabled
        self.jsonl_path = self.model_dir / JSONL_NAME
        self._file = None
        self._tb = None
        if not enabled:
            return
        self.model_dir.mkdir(parents=True, exist_ok=True)
        # A restarted run re-does the steps after its checkpoint: drop their old records.
        truncate_jsonl(self.jsonl_path, start_step)
        self._file = open(self.jsonl_path, "a", encoding="utf-8")
        if tensorboard:
            from tensorboardX import SummaryWriter

            self._tb = SummaryWriter(str(self.model_dir / TENSORBOARD_SUBDIR), purge_step=start_step + 1 if start_step else None)

    def write(self, step: int, metrics: Mapping[str, Any]) -> None:
        """Append one record {step, **metrics}; flushed so a killed run loses at most a torn line."""
        if not self.enabled:
            return
        record = {"step": int(step), **{k: _json_value(v) for k, v in metrics.items()}}
        self._file.write(json.dumps(record) + "\n")
        self._file.flush()
        if self._tb is not None:
            for name, value in metrics.items():
                if isinstance(value, (int, float)) and not isinstance(value, bool) and value is not None:
                    tag = name if "/" in name else f"train/{name}"
                    self._tb.add_scalar(tag, float(value), global_step=int(step))

    def flush(self) -> None:
        """Flush both outputs."""
        if self._file is not None:
            self._file.flush()
            os.fsync(self._file.fileno())
        if self._tb is not None:
            self._tb.flush()

    def close(self) -> None:
        """Flush and close."""
        if self._file is not None:
            self.flush()
            self._file.close()
            self._file = None
        if self._tb is not None:
            self._tb.close()
            self._tb = None
