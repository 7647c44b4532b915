"""The results of an evaluation run on disk: results.json (run info, one record per task, aggregates)
and predictions/{task}.jsonl (one row per example)."""
from __future__ import annotations

import dataclasses
import json
import math
import os
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from xlit_jax import aggregation

RESULTS_FORMAT = "xlit.eval_results/1"
RESULTS_FILE = "results.json"
PREDICTIONS_DIR = "predictions"


@dataclasses.dataclass
class TaskResult:
    """One scored task: its results.json record and one prediction row per example."""

    record: dict
    predictions: list[dict]


def results_document(results: Sequence[TaskResult], run_info: Mapping[str, Any] | None = None) -> dict:
    """The results.json document: run info, one record per task, aggregates over them."""
    records = [r.record for r in results]
    return {
        "format": RESULTS_FORMAT,
        "run": dict(run_info or {}),
        "tasks": {r["name"]: r for r in records},
        "aggregates": aggregation.aggregate(records) if records else {},
    }


def _json_ready(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_ready(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def write_results(output_dir: str | os.PathLike, document: Mapping, results: Sequence[TaskResult]) -> Path:
    """Writes results.json and predictions/{task}.jsonl under output_dir; returns results.json's path."""
    output_dir = Path(output_dir)
    (output_dir / PREDICTIONS_DIR).mkdir(parents=True, exist_ok=True)
    for result in results:
        path = output_dir / PREDICTIONS_DIR / f"{result.record['name']}.jsonl"
        with open(path, "w", encoding="utf-8") as f:
            for row in result.predictions:
                f.write(json.dumps(_json_ready(row), ensure_ascii=False) + "\n")
    path = output_dir / RESULTS_FILE
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(_json_ready(document), indent=1, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, path)
    return path
