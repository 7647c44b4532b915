"""An evaluation task as the core sees it: metadata and rendered examples, no registry, no TensorFlow.

The registry (seqio_tasks) builds these from its task specs; tests and notebooks build them by
hand. The evaluator scores them.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Mapping, Sequence

REQUIRED_INFO = ("name", "dataset", "cluster", "data_language", "template_language", "template_style",
                 "setting", "scoring", "metrics")


def info_dict(info: Any) -> dict:
    """A JSON-ready dict of task metadata given a TaskInfo, a dataclass or a mapping."""
    if hasattr(info, "to_dict"):
        out = dict(info.to_dict())
    elif dataclasses.is_dataclass(info):
        out = dataclasses.asdict(info)
    elif isinstance(info, Mapping):
        out = dict(info)
    else:
        raise TypeError(f"task info must be a TaskInfo, dataclass or mapping, got {type(info).__name__}")
    return {k: list(v) if isinstance(v, tuple) else v for k, v in out.items()}


@dataclasses.dataclass(frozen=True)
class EvalTask:
    """One evaluation task in memory: metadata (TaskInfo fields) and rendered examples.

    info: needs name, dataset, cluster, data_language, template_language, template_style,
      setting ('native'|'cross_lingual'|'translated'), scoring ('rank'|'generation') and
      metrics (names in xlit_jax.metrics.METRICS; the first is the task's score).
    examples: dicts {idx, inputs, targets, options (list[str] or None), answer_index (int or None)};
      rank tasks need options on every example.
    """

    info: Mapping[str, Any]
    examples: Sequence[Mapping[str, Any]]

    def __post_init__(self):
        info = info_dict(self.info)
        missing = [k for k in REQUIRED_INFO if info.get(k) in (None, "", [], ())]
        if missing:
            raise ValueError(f"EvalTask {info.get('name', '?')}: info lacks {missing}")
        if info["scoring"] not in ("rank", "generation"):
            raise ValueError(f"EvalTask {info['name']}: scoring must be 'rank' or 'generation', got {info['scoring']!r}")
        info.setdefault("role", "heldout")
        info.setdefault("template_id", None)
        info["metrics"] = list(info["metrics"])
        for position, example in enumerate(self.examples):
            for key in ("inputs", "targets"):
                if not isinstance(example.get(key), str):
                    raise ValueError(f"EvalTask {info['name']}: example {position} has no string {key!r}")
            if info["scoring"] == "rank" and not example.get("options"):
                raise ValueError(f"EvalTask {info['name']}: rank task example {position} "
                                 f"(idx={example.get('idx')}) has no options")
        object.__setattr__(self, "info", info)
        object.__setattr__(self, "examples", [dict(e, idx=e.get("idx", i)) for i, e in enumerate(self.examples)])

    @property
    def name(self) -> str:
        return self.info["name"]
