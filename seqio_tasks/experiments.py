"""Mixtures that experiment gin files name beyond the built-in ones: pinch and budget mixtures, task subsets.

An experiment file (gin/experiments/*.gin) that trains on such a mixture binds

    xlit.register_experiment_mixtures.mixture_fns = [@xlit.pinch_mixture]     # or @xlit.subset_mixture, @xlit.budget_mixture

and the mixture's parts (`xlit.pinch_mixture.base_mixture = "korani_train"`, ...). The CLI
calls `register_experiment_mixtures()` right after `registration.register_builtin`: each
configured function registers one mixture through the registry's public API
(`mixtures.make_pinch_mixture`, `mixtures.make_mixture_from_tasks`, `budget.make_budget_mixture`).
"""
from __future__ import annotations

from typing import Callable, Sequence

import gin

from seqio_tasks import catalog, mixtures, naming, task_specs


@gin.configurable(module="xlit")
def pinch_mixture(name: str = gin.REQUIRED, base_mixture: str = gin.REQUIRED,
                  other_mixture: str = gin.REQUIRED, num_examples: int = gin.REQUIRED, seed: int = 0) -> str:
    """Registers `name`: base_mixture plus `num_examples` rows of other_mixture's tasks (a pinch)."""
    import seqio

    for mixture in (base_mixture, other_mixture):
        if mixture not in seqio.MixtureRegistry.names():
            raise ValueError(f"pinch mixture {name!r}: mixture {mixture!r} is not registered here "
                             "(its data is absent? see `xlit tasks --mixtures`)")
    # by mixture name, so the pinch task is named after it (pinch.{other_mixture}.n{N}.s{seed})
    return mixtures.make_pinch_mixture(base_mixture, other_mixture, int(num_examples), name=name, seed=int(seed)).name


@gin.configurable(module="xlit")
def subset_mixture(name: str = gin.REQUIRED, datasets: Sequence[str] = gin.REQUIRED,
                   template_set: str | None = None, temperature: float = 1.0) -> str:
    """Registers `name`: the training tasks of the listed datasets (native templates, or `template_set`)."""
    task_names = []
    for dataset in datasets:
        if template_set is None:
            task = naming.train_task_name(dataset)
        else:
            language, _, style = template_set.partition("_")
            task = naming.train_task_name(dataset, language, style)
        try:
            spec = task_specs.get_spec(task)
        except KeyError as error:
            raise ValueError(f"subset mixture {name!r}: dataset {dataset!r} has no training task {task!r}") from error
        if not task_specs.has_data(spec, task_specs.train_split(spec)):
            raise ValueError(f"subset mixture {name!r}: training data of {dataset!r} ({task}) is not present "
                             f"(set {catalog.DATA_DIR_SETTING})")
        task_names.append(task)
    return mixtures.make_mixture_from_tasks(name, task_names, mixtures.examples_rate(temperature=temperature)).name


@gin.configurable(module="xlit")
def register_experiment_mixtures(mixture_fns: Sequence[Callable[[], str]] = ()) -> list[str]:
    """Registers each configured experiment mixture (after `register_builtin`); returns their names."""
    return [fn() for fn in mixture_fns]


@gin.configurable(module="xlit")
def budget_mixture(name: str = gin.REQUIRED, base_mixture: str = gin.REQUIRED,
                   other_mixtures: dict = gin.REQUIRED, share: float | int = gin.REQUIRED,
                   total: int | None = None, train_steps: int | None = None, batch_size: int | None = None,
                   weights: dict | None = None) -> str:
    """Registers `name`: base_mixture with `share` of a fixed budget spread over other languages' mixtures.

    other_mixtures: {language: mixture name or task names}; share: a fraction in (0, 1) or an int
    count; total: the budget in examples, default train_steps x batch_size (seqio_tasks.budget).
    """
    from seqio_tasks import budget

    if total is None:
        if not train_steps or not batch_size:
            raise ValueError(f"budget mixture {name!r}: give total, or train_steps and batch_size")
        total = int(train_steps) * int(batch_size)
    return budget.make_budget_mixture(name, base_mixture, dict(other_mixtures), int(total), share,
                                      weights=dict(weights) if weights else None).name
