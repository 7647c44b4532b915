"""Training length in epochs: the steps one pass over a training mixture's examples takes.

    TRAIN_STEPS = @epoch/xlit.epoch_steps()          # gin (runs/korani_recipe.gin)
    epoch/xlit.epoch_steps.mixture_or_task_name = %MIXTURE_OR_TASK_NAME
    epoch/xlit.epoch_steps.batch_size = %BATCH_SIZE

An epoch is the sum of the training examples (source rows of the train split) of the mixture's
tasks with data, so `ceil(epochs * examples / batch_size)` steps. With unpacked batches
(PACK = False) a step is `batch_size` examples; seqio samples a mixture's tasks by rate, so the
pass is one epoch in expectation when the rates are the tasks' sizes (no T0 cap:
`xlit.training_rate_config.cap = None`), not an exact once-each pass. Counting reads the source
files once (cached in the task catalog).
"""
from __future__ import annotations

import math

import gin

from seqio_tasks import task_specs
from seqio_tasks.catalog import CATALOG, TaskCatalog


def training_examples(mixture_or_task_name: str, catalog: TaskCatalog = CATALOG) -> dict[str, int]:
    """Training examples per task of a mixture (or one task) with data; ValueError for an unknown name."""
    from seqio_tasks.validation import mixture_training_tasks

    counts = {}
    for name in mixture_training_tasks(mixture_or_task_name, catalog):
        if name not in catalog:
            continue
        spec = catalog.get(name)
        split = task_specs.train_split(spec)
        if split is None or not catalog.has_data(spec, split):
            continue
        counts[name] = int(catalog.num_examples(name, split) or 0)
    if not counts:
        raise ValueError(f"{mixture_or_task_name!r}: no training task with train data under "
                         f"{catalog.data_dir or 'no data directory'}")
    return counts


@gin.configurable("epoch_steps", module="xlit")
def epoch_steps(mixture_or_task_name: str = gin.REQUIRED, batch_size: int = gin.REQUIRED, epochs: float = 1.0,
                catalog: TaskCatalog = CATALOG) -> int:
    """ceil(epochs * training examples / batch_size): the steps of `epochs` passes over the mixture."""
    if batch_size < 1 or epochs <= 0:
        raise ValueError(f"epoch_steps: batch_size must be >= 1 and epochs > 0, got {batch_size} and {epochs}")
    total = sum(training_examples(mixture_or_task_name, catalog).values())
    steps = max(1, math.ceil(epochs * total / batch_size))
    print(f"xlit: {epochs:g} epoch(s) of {mixture_or_task_name} = {total:,} training examples / batch "
          f"{batch_size} = {steps:,} steps", flush=True)
    return steps
