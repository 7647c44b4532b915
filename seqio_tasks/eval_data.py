"""Evaluation examples as plain Python, without TensorFlow or seqio: the registry's side of `xlit eval`.

The rows are exactly the text the seqio task of the same name yields: both come from
`task_specs.rendered_examples`. `registry_eval_tasks` (gin `xlit.registry_eval_tasks`) turns
task names, mixture names and regexes into the core's `EvalTask`s; the CLI passes it to the
evaluator as its task loader.
"""
from __future__ import annotations

import re
from typing import Sequence

import gin

from xlit_jax.eval_tasks import EvalTask
from seqio_tasks import task_specs
from seqio_tasks.catalog import CATALOG, TaskCatalog, suggestion
from seqio_tasks.task_specs import TaskInfo


def load_eval_examples(task_name: str, split: str | None = None, max_examples: int | None = None,
                       catalog: TaskCatalog = CATALOG) -> list[dict]:
    """Rows {idx, inputs, targets, options (list or None), answer_index (int or None)} of a task split.

    split defaults to the task's eval split (test for KORANI, validation for P3 when present).
    """
    spec = catalog.get(task_name)
    split = split or spec.default_split
    if not catalog.has_data(spec, split):
        raise FileNotFoundError(
            f"task {task_name}: data for split {split!r} of source {spec.source_name!r} not found under "
            f"{catalog.data_root(spec) or 'no directory'} (set {catalog.data_setting(spec)})")
    return task_specs.rendered_examples(spec, split, max_examples=max_examples, catalog=catalog)


def eval_task_names(pattern: str | None = None, with_data: bool = False, catalog: TaskCatalog = CATALOG) -> list[str]:
    """Names of evaluation tasks (regex-searched), optionally only those whose data is present."""
    regex = re.compile(pattern) if pattern else None
    return [spec.name for spec in catalog.specs()
            if spec.info.kind == "eval" and not (regex and not regex.search(spec.name))
            and not (with_data and not catalog.has_data(spec))]


def _mixture_tasks(name: str, catalog: TaskCatalog) -> list[str] | None:
    """The tasks of a registered mixture, else of a built-in mixture definition, else None."""
    from seqio_tasks import mixtures

    entry = catalog.mixture(name)
    if entry is not None:
        return [t for t in entry.tasks if t in catalog]
    return mixtures.mixture_definitions(catalog).get(name)


def _with_data(task_names: Sequence[str], nothing: str, catalog: TaskCatalog) -> list[str]:
    """The tasks whose data is present; ValueError `nothing` + where it looked when there is none."""
    present = [t for t in task_names if catalog.has_data(catalog.get(t))]
    if not present:
        setting = catalog.data_setting(catalog.get(task_names[0]))
        raise ValueError(f"{nothing} under {catalog.data_dir or 'no data directory'} (set {setting})")
    return present


def resolve_task_names(names: str | Sequence[str], catalog: TaskCatalog = CATALOG) -> list[str]:
    """Task names from exact task names, mixture names (their tasks with data) or regexes over eval tasks.

    ValueError names what matched nothing and suggests close task and mixture names, or
    names the data directory setting when a mixture has no task with data.
    """
    from seqio_tasks import mixtures

    out: list[str] = []
    for name in [names] if isinstance(names, str) else list(names):
        if name in catalog:
            out.append(name)
            continue
        in_mixture = _mixture_tasks(name, catalog)
        if in_mixture is not None:
            out += _with_data(in_mixture, f"mixture {name!r}: none of its {len(in_mixture)} tasks has data", catalog)
            continue
        try:
            matched = eval_task_names(f"^(?:{name})$", catalog=catalog)
        except re.error as error:
            known = catalog.names() + sorted(mixtures.mixture_definitions(catalog)) + catalog.mixture_names()
            raise ValueError(f"{name!r} is neither a task, a mixture nor a valid regex ({error})"
                             f"{suggestion(name, known)}") from error
        if matched:
            out += _with_data(matched, f"regex {name!r} matches {len(matched)} evaluation tasks, none with data",
                              catalog)
            continue
        known = catalog.names() + sorted(mixtures.mixture_definitions(catalog)) + catalog.mixture_names()
        raise ValueError(f"{name!r} is no task, no mixture and matches no evaluation task{suggestion(name, known)}")
    return list(dict.fromkeys(out))


@gin.configurable("registry_eval_tasks", module="xlit")
def registry_eval_tasks(names: str | Sequence[str], max_examples: int | None = None,
                        split: str | None = None) -> list[EvalTask]:
    """EvalTasks of task names, mixture names (their tasks with data) or regexes over evaluation task names."""
    return [EvalTask(info=task_specs.task_info(name), examples=load_eval_examples(name, split, max_examples))
            for name in resolve_task_names(names)]


def task_info(task_name: str) -> TaskInfo:
    """The metadata of a task (dataset, cluster, languages, style, setting, scoring, metrics)."""
    return task_specs.task_info(task_name)
