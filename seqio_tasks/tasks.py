"""seqio Task registration: one evaluation task per (dataset, template), one training task per dataset.

Nothing is registered on import. `register_tasks()` (or `seqio_tasks.mixtures.register_all()`,
or `import seqio_tasks.registered`, the seqio-style import that registers everything)
adds every task of `task_specs.all_specs()` to `seqio.TaskRegistry`. Calling it again with
the same vocabulary does nothing; with another vocabulary it replaces the tasks.
"""
from __future__ import annotations

import logging
from typing import Iterable

import seqio

from seqio_tasks import preprocessors, task_specs
from seqio_tasks.task_specs import TaskInfo
from seqio_tasks.vocab import get_vocabulary

log = logging.getLogger(__name__)

# task name -> key of the vocabulary it was registered with
_REGISTERED: dict[str, tuple] = {}


def vocabulary_key(vocabulary: seqio.Vocabulary) -> tuple:
    """What identifies a vocabulary without loading it (seqio's __eq__ reads the model file)."""
    return (type(vocabulary).__name__, str(getattr(vocabulary, "sentencepiece_model_file", vocabulary)),
            getattr(vocabulary, "extra_ids", None))


def output_features(vocabulary: seqio.Vocabulary | None = None) -> dict[str, seqio.Feature]:
    """`inputs` and `targets`, tokenized with the vocabulary, EOS appended."""
    vocabulary = vocabulary or get_vocabulary()
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


def register_task(spec: task_specs.TaskSpec, vocabulary: seqio.Vocabulary) -> seqio.Task:
    """Registers one task spec with seqio (replacing a task of the same name)."""
    name = spec.name
    if name in seqio.TaskRegistry.names():
        seqio.TaskRegistry.remove(name)
    splits = spec.info.splits or ("test",)
    source = RenderedDataSource(name, splits)
    task = seqio.TaskRegistry.add(
        name,
        source=source,
        output_features=output_features(vocabulary),
        preprocessors=preprocessors.tokenize_and_append_eos(),
        postprocess_fn=None,
        metric_fns=[accuracy] if spec.info.scoring == "rank" else [],
    )
    _REGISTERED[name] = vocabulary_key(vocabulary)
    return task


def register_tasks(vocabulary: seqio.Vocabulary | None = None) -> list[str]:
    """Registers every task (idempotent for one vocabulary); returns the task names."""
    vocabulary = vocabulary or get_vocabulary()
    key = vocabulary_key(vocabulary)
    names = []
    for spec in task_specs.all_specs():
        if _REGISTERED.get(spec.name) != key or spec.name not in seqio.TaskRegistry.names():
            register_task(spec, vocabulary)
        names.append(spec.name)
    return names


def registered_vocabulary_key() -> tuple | None:
    """The vocabulary key the tasks are registered with (None before registration)."""
    keys = set(_REGISTERED.values())
    return keys.pop() if len(keys) == 1 else None


def task_info(name: str) -> TaskInfo:
    """The metadata of a registered task: dataset, cluster, role, languages, style, setting, scoring."""
    return task_specs.task_info(name)
