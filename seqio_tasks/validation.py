"""A training mixture's own validation data: what hyper-parameter and checkpoint choices are scored on.

T0 (Sanh et al. 2021, section 4) selects checkpoints on "the validation splits of our training
datasets", so no example of a held-out task influences a choice and the held-out numbers stay
zero-shot. xlit does the same: `xlit sweep` scores each learning rate on the tasks listed here,
and held-out tasks (taxonomy role `heldout`) are refused. Evaluating the held-out mixtures every
EVAL_PERIOD during training draws curves; it is not a way to choose checkpoints.

Which tasks: for every training task of the mixture that has train data here (`{dataset}.train`,
or `{dataset}.train.{lang}_{style}` under another template set; a pinch mixture's source tasks too),
the evaluation tasks of the same dataset under the template set it trains on (its original-task
templates), read on the dataset's validation split: the first of VALIDATION_SPLITS that the
source has, is labelled and has data. A dataset without one (labelled only in train and test,
such as AG News, TREC, MRPC here) is left out and named in the log; its test split is never
used for a choice.

    registry_validation_tasks("korani_train", max_examples=64, max_templates=2)   # gin: xlit.registry_validation_tasks
"""
from __future__ import annotations

import logging
from typing import Sequence

import gin

from xlit_jax.eval_tasks import EvalTask
from seqio_tasks import task_specs
from seqio_tasks.catalog import CATALOG, TaskCatalog, suggestion

log = logging.getLogger(__name__)

VALIDATION_SPLITS = ("validation", "dev", "val")


def mixture_training_tasks(name: str, catalog: TaskCatalog) -> list[str]:
    """Training task names of a registered mixture (pinch sources included), a built-in mixture
    definition (with or without data), or a training task; ValueError naming close names otherwise."""
    from seqio_tasks import mixtures

    entry = catalog.mixture(name)
    if entry is not None:
        names = [t for t in entry.tasks if t not in entry.pinch_from]
        names += [t for sources in entry.pinch_from.values() for t in sources]
        return names
    definitions = mixtures.mixture_definitions(catalog)
    if name in definitions:
        return list(definitions[name])
    if name in catalog:
        return [name]
    known = catalog.mixture_names() + sorted(definitions) + [s.name for s in catalog.specs() if s.info.kind == "train"]
    raise ValueError(f"{name!r} is neither a training mixture nor a training task{suggestion(name, known)}")


def validation_split(spec: task_specs.TaskSpec, catalog: TaskCatalog = CATALOG) -> str | None:
    """The split a task is validated on: the first of VALIDATION_SPLITS that its source has, labelled,
    with data; None when there is none (the test split is never a validation split)."""
    unlabelled = set(getattr(spec.source, "unlabelled_splits", ()) or ())
    for split in VALIDATION_SPLITS:
        if split in spec.info.splits and split not in unlabelled and catalog.has_data(spec, split):
            return split
    return None


def validation_task_names(mixture_or_task: str | Sequence[str], max_templates: int | None = None,
                          catalog: TaskCatalog = CATALOG) -> list[tuple[str, str]]:
    """(evaluation task, validation split) pairs of the training datasets of mixtures/training tasks.

    At most `max_templates` templates per dataset (in name order; None: all). ValueError when a
    training task belongs to a held-out dataset, or when no dataset has a validation split.
    """
    names = [mixture_or_task] if isinstance(mixture_or_task, str) else list(mixture_or_task)
    trained: dict[str, set[tuple[str, str]]] = {}
    for name in names:
        for task in mixture_training_tasks(name, catalog):
            if task not in catalog:
                continue
            spec = catalog.get(task)
            info = spec.info
            if info.kind != "train":
                raise ValueError(f"{task!r} in {name!r} is not a training task (kind {info.kind!r})")
            if task_specs.is_heldout(info.role):
                raise ValueError(f"training task {task!r} reads held-out dataset {info.dataset!r}: a held-out "
                                 "dataset is never used to choose settings")
            split = task_specs.train_split(spec)
            if split is None or not catalog.has_data(spec, split):
                continue   # not trained on here (a registered mixture leaves it out too)
            trained.setdefault(info.dataset, set()).add((info.template_language, info.template_style))
    if not trained:
        raise ValueError(f"{names}: no training task registered (is the registry loaded for this data directory?)")
    pairs, without = [], []
    for dataset in sorted(trained):
        specs = [s for s in catalog.specs() if s.info.kind == "eval" and s.info.dataset == dataset
                 and (s.info.template_language, s.info.template_style) in trained[dataset]]
        chosen = [(s.name, split) for s in sorted(specs, key=lambda s: s.name)
                  if (split := validation_split(s, catalog)) is not None]
        if not chosen:
            without.append(dataset)
            continue
        pairs += chosen[:max_templates] if max_templates else chosen
    if without:
        log.info("no validation split with data for %d training datasets (not scored): %s", len(without),
                 ", ".join(without))
    if not pairs:
        raise ValueError(f"{names}: none of the training datasets {sorted(trained)} has a labelled validation "
                         f"split ({', '.join(VALIDATION_SPLITS)}) with data under {catalog.data_dir or 'no data directory'}")
    return pairs


@gin.configurable("registry_validation_tasks", module="xlit")
def registry_validation_tasks(names: str | Sequence[str], max_examples: int | None = None,
                              split: str | None = None, max_templates: int | None = None) -> list[EvalTask]:
    """EvalTasks on the validation splits of the training datasets of training mixtures or tasks.

    A task loader with the evaluator's signature (`split` must be None or 'validation': a choice is
    made on validation data only). Each EvalTask's info says the split it was read from (`eval_split`).
    """
    if split not in (None, "validation"):
        raise ValueError(f"registry_validation_tasks reads validation splits only, got split={split!r}")
    tasks = []
    for name, task_split in validation_task_names(names, max_templates=max_templates):
        spec = CATALOG.get(name)
        info = dict(spec.info.to_dict(), eval_split=task_split)
        examples = task_specs.rendered_examples(spec, task_split, max_examples=max_examples)
        if examples:
            tasks.append(EvalTask(info=info, examples=examples))
    return tasks
