"""The one function that registers the built-in tasks and mixtures: `register_builtin`.

    from seqio_tasks import paths, registration
    registration.register_builtin("spm.model", data_dir=paths.data_dir())

It empties the task catalog (`catalog.CATALOG`) and whatever it had put into seqio's
registries, adds (or removes) the packaged demo corpus, builds every task spec for the
given data directory and KORANI dump directory, registers each task with seqio for the
vocabulary, then the built-in mixtures (and the demo's). Calling it again re-registers
from scratch, so a second vocabulary or data directory replaces the first. Nothing in
seqio_tasks registers on import; the CLI calls this once, after gin is parsed.

`load_builtin` is its TF-free half (the task specs only): enough to list tasks, read
evaluation rows or train a vocabulary, without seqio or TensorFlow.
"""
from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

from seqio_tasks import paths, task_specs
from seqio_tasks.catalog import CATALOG, DATA_DIR_SETTING, TaskCatalog

log = logging.getLogger(__name__)


@dataclasses.dataclass
class Registration:
    """What `register_builtin` registered with seqio: task names and mixture names."""

    tasks: list[str]
    mixtures: list[str]


def load_builtin(*, data_dir: str | Path | None = None, korani_dir: str | Path | None = None,
                 include_demo: bool = True, catalog: TaskCatalog = CATALOG) -> TaskCatalog:
    """Fills the catalog with every built-in task spec (TF-free); returns it.

    data_dir / korani_dir default to `paths.data_dir()` / `paths.korani_dir()` (gin, else the
    environment), read once here and kept by the catalog.
    """
    from seqio_tasks import demo

    data_dir = Path(data_dir).expanduser() if data_dir is not None else paths.data_dir()
    korani_dir = Path(korani_dir).expanduser() if korani_dir is not None else paths.korani_dir()
    if include_demo:
        demo.register_demo()
    else:
        demo.unregister_demo()
    catalog.reset(data_dir=data_dir, korani_dir=korani_dir)
    for spec in task_specs.builtin_specs(data_dir, korani_dir):
        catalog.add(spec)
    _log_missing_data(catalog)
    return catalog


def register_builtin(vocabulary_path: str, *, data_dir: Path | None = None, korani_dir: Path | None = None,
                     include_demo: bool = True) -> Registration:
    """Registers every built-in task and mixture (the demo's too, unless include_demo=False) for a vocabulary."""
    from seqio_tasks import demo, mixtures, tasks, vocab

    catalog = load_builtin(data_dir=data_dir, korani_dir=korani_dir, include_demo=include_demo)
    vocabulary = vocab.get_vocabulary(str(vocabulary_path))
    task_names = tasks.register_tasks(vocabulary, catalog)
    mixture_names = mixtures.register_mixtures(catalog)
    if include_demo:
        mixture_names += demo.register_mixtures()
    return Registration(tasks=task_names, mixtures=mixture_names)


def _log_missing_data(catalog: TaskCatalog) -> None:
    """One line for all sources without data (not one per task): how many, which, and the setting to fix it."""
    sources, missing = {}, {}
    for spec in catalog.specs():
        sources.setdefault(spec.source_name, spec)
    for name, spec in sources.items():
        if not any(catalog.has_data(spec, split) for split in spec.info.splits):
            missing.setdefault(catalog.data_setting(spec), []).append(name)
    for setting, names in missing.items():
        where = catalog.data_dir if setting == DATA_DIR_SETTING else catalog.korani_dir
        log.info("%d of %d data sources have no files %s: %s%s", len(names), len(sources),
                 f"under {where} ({setting})" if where else f"({setting} is not set)",
                 ", ".join(sorted(names)[:8]), ", ..." if len(names) > 8 else "")
