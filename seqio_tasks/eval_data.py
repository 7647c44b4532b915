"""Evaluation examples as plain Python, without TensorFlow or seqio (for xlit_jax's evaluator).

The rows are exactly the text the seqio task of the same name yields: both come from
`task_specs.rendered_examples`.
"""
from __future__ import annotations

from seqio_tasks import task_specs
from seqio_tasks.task_specs import TaskInfo


def load_eval_examples(task_name: str, split: str | None = None, max_examples: int | None = None) -> list[dict]:
    """Rows {idx, inputs, targets, options (list or None), answer_index (int or None)} of a task split.

    split defaults to the task's eval split (test for KORANI, validation for P3 when present).
    """
    spec = task_specs.get_spec(task_name)
    if not task_specs.has_data(spec, split or spec.info.eval_split or task_specs.train_split(spec)):
        raise FileNotFoundError(
            f"task {task_name}: data for split {split or spec.info.eval_split!r} not found "
            f"(set XLIT_DATA_DIR, or XLIT_KORANI_DIR for dump tasks)")
    return task_specs.rendered_examples(spec, split, max_examples=max_examples)


def eval_task_names(pattern: str | None = None, with_data: bool = False) -> list[str]:
    """Names of evaluation tasks (regex-filtered), optionally only those whose data is present."""
    import re

    regex = re.compile(pattern) if pattern else None
    names = []
    for spec in task_specs.all_specs():
        if spec.info.kind != "eval" or (regex and not regex.search(spec.name)):
            continue
        if with_data and not task_specs.has_data(spec):
            continue
        names.append(spec.name)
    return names


def task_info(task_name: str) -> TaskInfo:
    """The metadata of a task (dataset, cluster, languages, style, setting, scoring, metrics)."""
    return task_specs.task_info(task_name)
