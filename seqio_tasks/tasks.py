"""seqio Task registration: one evaluation task per (dataset, template), one training task per dataset.

Nothing is registered on import. `register_tasks(vocabulary)` adds every task of the catalog
to `seqio.TaskRegistry` (replacing tasks of the same name) and records them in the catalog, so
the catalog's `reset` removes them again. `seqio_tasks.registration.register_builtin` is the
one caller.
"""
from __future__ import annotations

from typing import Iterable

import seqio

from seqio_tasks import preprocessors, task_specs
from seqio_tasks.catalog import CATALOG, TaskCatalog
from seqio_tasks.task_specs import TaskInfo


def output_features(vocabulary: seqio.Vocabulary) -> dict[str, seqio.Feature]:
    """`inputs` and `targets`, tokenized with the vocabulary, EOS appended."""
    return {
        "inputs": seqio.Feature(vocabulary=vocabulary, add_eos=True, required=False),
        "targets": seqio.Feature(vocabulary=vocabulary, add_eos=True),
    }


def accuracy(targets: list, predictions: list) -> dict:
    """Exact-match accuracy (percent) of decoded predictions against targets (seqio metric_fn)."""
    if len(targets) != len(predictions):
        raise ValueError(f"accuracy: {len(targets)} targets but {len(predictions)} predictions")
    correct = sum(str(t).strip() == str(p).strip() for t, p in zip(targets, predictions))
    return {"accuracy": 100.0 * correct / max(len(targets), 1)}


class RenderedDataSource(seqio.FunctionDataSource):
    """A FunctionDataSource over a task's rendered rows whose example counts are read lazily."""

    def __init__(self, task_name: str, splits: Iterable[str]):
        super().__init__(dataset_fn=preprocessors.rendered_dataset_fn(task_name), splits=splits,
                         num_input_examples=None, caching_permitted=True)
        self._task_name = task_name

    def num_input_examples(self, split: str) -> int | None:
        """Source rows in the split (read and cached on first call); None when the data is absent."""
        return task_specs.num_examples(self._task_name, split)


def register_task(spec: task_specs.TaskSpec, vocabulary: seqio.Vocabulary, catalog: TaskCatalog = CATALOG) -> seqio.Task:
    """Registers one task spec with seqio (replacing a task of the same name)."""
    name = spec.name
    if name in seqio.TaskRegistry.names():
        seqio.TaskRegistry.remove(name)
    splits = spec.info.splits or ("test",)
    task = seqio.TaskRegistry.add(
        name,
        source=RenderedDataSource(name, splits),
        output_features=output_features(vocabulary),
        preprocessors=preprocessors.tokenize_and_append_eos(),
        postprocess_fn=None,
        metric_fns=[accuracy] if spec.info.scoring == "rank" else [],
    )
    catalog.record_seqio_task(name)
    return task


def register_tasks(vocabulary: seqio.Vocabulary, catalog: TaskCatalog = CATALOG) -> list[str]:
    """Registers every task of the catalog with seqio; returns the task names."""
    return [register_task(spec, vocabulary, catalog).name for spec in catalog.specs()]


def task_info(name: str) -> TaskInfo:
    """The metadata of a registered task: dataset, cluster, role, languages, style, setting, scoring."""
    return task_specs.task_info(name)
