"""seqio Mixtures: T0 and KORANI training mixtures, held-out evaluation mixtures, pinch mixtures.

Importing this module (and `mixture_definitions`) needs neither seqio nor TensorFlow; the
functions that register import seqio themselves.

Registered by `register_mixtures()`, which `seqio_tasks.registration.register_builtin` calls
after the tasks (the one place that fills the seqio registries; nothing registers on
import). Every mixture is recorded in the task catalog, whose `reset` removes it again.
`check_training_mixture` is the check a trainer runs before building anything.

Which tasks go into a mixture: those whose data files are present when the mixture is
registered (a file-existence check, no data is read). A mixture that would be empty is
not registered. Rates are functions of the task, evaluated when a dataset is built, so
example counts are read (once, cached) only then.

Training rates follow T0: a dataset's rate is its number of examples, capped at
`cap / num_templates` per template (T0's 500,000 / number of prompts) and multiplied by
its number of templates, which is the dataset's share of the T0 mixture where every
(dataset, prompt) pair is its own task; an optional temperature T gives rate ** (1 / T).
Gin: `xlit.training_rate_config.cap = 500000`, `xlit.training_rate_config.temperature = 2.0`
(read when the mixtures are registered).

Mixture names:
    p3_t0_train, korani_train, bilingual_train          native templates
    {meta}_train.{lang}_{style}                          training data under another template set
    {meta}_heldout.{data_language}.{setting}             setting: native | cross_lingual | translated | all
                                                         (xcopa_heldout.{lang}.*: XCOPA, languages unseen in tuning)
"""
from __future__ import annotations

import functools
import logging
import random
from typing import TYPE_CHECKING, Callable, Sequence

import gin

from seqio_tasks import naming, task_specs
from seqio_tasks.catalog import CATALOG, DATA_DIR_SETTING, TaskCatalog, suggestion

if TYPE_CHECKING:
    import seqio

log = logging.getLogger(__name__)

T0_CAP = 500_000
TRAIN_MIXTURES = {"p3_t0_train": ("p3",), "korani_train": ("korani",), "bilingual_train": ("p3", "korani")}
HELDOUT_META = {"p3": "en", "korani": "ko"}
META_LANGUAGE = HELDOUT_META   # the data language of each meta-dataset
# Held-out-only meta-datasets in several languages that no training mixture holds (taxonomy/xcopa.yaml):
# one held-out mixture per data language, {meta}_heldout.{lang}.{setting} (all cross-lingual).
UNSEEN_LANGUAGE_META = ("xcopa",)
ALLOW_MONOLINGUAL_HINT = "--gin.ALLOW_MONOLINGUAL=True"


# ------------------------------------------------------------------------------ rates


def examples_rate(
    cap: float | None = T0_CAP,
    temperature: float = 1.0,
    split: str | None = None,
    per_template_cap: bool = True,
) -> Callable[[seqio.Task], float]:
    """A rate function: examples (capped at cap/num_templates per template, times templates) ** (1/T).

    split None reads each task's own split (train for training tasks, eval split for eval
    tasks). A task without data gets rate 0.
    """
    if temperature <= 0:
        raise ValueError(f"temperature must be positive, got {temperature}")

    def rate(task: seqio.Task) -> float:
        return examples_rate_value(task.name, cap=cap, temperature=temperature, split=split,
                                   per_template_cap=per_template_cap)

    rate.__name__ = f"examples_rate_cap{cap}_t{temperature}"
    return rate


@gin.configurable(module="xlit")
def training_rate_config(cap: float | None = T0_CAP, temperature: float = 1.0) -> tuple[float | None, float]:
    """(cap, temperature) of the registered training mixtures: gin `xlit.training_rate_config.cap` / `.temperature`."""
    return cap, temperature


def training_rate() -> Callable[[seqio.Task], float]:
    """The rate function of the registered training mixtures (T0 cap and temperature from gin)."""
    cap, temperature = training_rate_config()
    return examples_rate(cap=cap, temperature=temperature)


def examples_rate_value(task_name: str, cap: float | None = T0_CAP, temperature: float = 1.0,
                        split: str | None = None, per_template_cap: bool = True) -> float:
    """The rate `examples_rate` gives one task (plain function, for tests and reports)."""
    count = task_specs.num_examples(task_name, split) or 0
    info = task_specs.task_info(task_name)
    num_templates = max(len(info.template_ids), 1) if per_template_cap else 1
    value = float(count)
    if cap is not None:
        value = num_templates * min(float(count), cap / num_templates)
    return value ** (1.0 / temperature) if value > 0 else 0.0


# ------------------------------------------------------------------------ registering


def _register_mixture(name: str, task_rates: Sequence[tuple[str, object]], catalog: TaskCatalog = CATALOG,
                      pinch_from: dict[str, list[str]] | None = None) -> seqio.Mixture:
    import seqio

    if name in seqio.MixtureRegistry.names():
        seqio.MixtureRegistry.remove(name)
    mixture = seqio.MixtureRegistry.add(name, list(task_rates))
    catalog.add_mixture(name, [task for task, _ in task_rates], pinch_from)
    return mixture


def make_mixture_from_tasks(name: str, task_names: Sequence[str], rate: object | None = None,
                            catalog: TaskCatalog = CATALOG) -> seqio.Mixture:
    """Registers a mixture of registered tasks; rate: number or function of the task (default examples_rate())."""
    import seqio

    if not task_names:
        raise ValueError(f"mixture {name!r}: no tasks")
    missing = [t for t in task_names if t not in seqio.TaskRegistry.names()]
    if missing:
        raise KeyError(f"mixture {name!r}: tasks not registered: {missing[:5]}")
    rate = examples_rate() if rate is None else rate
    return _register_mixture(name, [(t, rate) for t in task_names], catalog)


def _present(spec: task_specs.TaskSpec, catalog: TaskCatalog = CATALOG) -> bool:
    return catalog.has_data(spec)


def mixture_definitions(catalog: TaskCatalog = CATALOG) -> dict[str, list[str]]:
    """Mixture name -> the task names it would hold if all data were present (no data read)."""
    specs = catalog.specs()
    out: dict[str, list[str]] = {}
    for name, metas in TRAIN_MIXTURES.items():
        out[name] = [s.name for s in specs if s.info.kind == "train" and s.info.meta in metas
                     and s.info.setting == "native"]
    other_sets = sorted({(s.info.meta, s.info.template_language, s.info.template_style) for s in specs
                         if s.info.kind == "train" and s.info.setting != "native"})
    for meta, language, style in other_sets:
        out[f"{meta}_train.{naming.template_set(language, style)}"] = [
            s.name for s in specs if s.info.kind == "train" and s.info.meta == meta
            and (s.info.template_language, s.info.template_style) == (language, style)]
    unseen = sorted({(s.info.meta, s.info.data_language) for s in specs if s.info.meta in UNSEEN_LANGUAGE_META})
    for meta, data_language in list(HELDOUT_META.items()) + unseen:
        heldout = [s for s in specs if s.info.kind == "eval" and s.info.meta == meta
                   and s.info.data_language == data_language and task_specs.is_heldout(s.info.role)]
        # template categories reported apart (the aligned arm, the authors' dump, the project's own
        # English P3-style set) have their own mixtures and stay out of the settings' and `.all`
        kept = [s for s in heldout if s.info.template_category not in naming.SEPARATE_CATEGORIES]
        for setting in naming.SETTINGS:
            out[naming.heldout_mixture_name(meta, data_language, setting)] = [
                s.name for s in kept if s.info.setting == setting]
        for category in naming.SEPARATE_CATEGORIES:
            out[naming.heldout_mixture_name(meta, data_language, category)] = [
                s.name for s in heldout if s.info.template_category == category]
        out[naming.heldout_mixture_name(meta, data_language, "all")] = [s.name for s in kept]
    return {name: task_names for name, task_names in out.items() if task_names}


def register_mixtures(catalog: TaskCatalog = CATALOG) -> list[str]:
    """Registers the training and held-out mixtures over the tasks with data present.

    A mixture none of whose tasks has data is not registered (one summary line lists them);
    `bilingual_train` with one language only is registered with a warning that names the
    missing language (`check_training_mixture` refuses to train on it).
    """
    registered, empty = [], []
    for name, task_names in mixture_definitions(catalog).items():
        present = [t for t in task_names if _present(catalog.get(t), catalog)]
        if not present:
            empty.append(name)
            continue
        is_train = not name.split(".")[0].endswith("_heldout")
        rate = training_rate() if is_train else examples_rate(cap=None)
        _register_mixture(name, [(t, rate) for t in present], catalog)
        registered.append(name)
        missing = missing_languages(name, catalog)
        if missing:
            log.warning("mixture %s holds no %s data (only %s tasks with data); training on it needs %s",
                        name, "/".join(missing), len(present), ALLOW_MONOLINGUAL_HINT)
    if empty:
        log.info("%d mixtures have no task with data under %s, not registered: %s%s", len(empty),
                 catalog.data_dir or "no data directory", ", ".join(empty[:6]), ", ..." if len(empty) > 6 else "")
    return registered


# ------------------------------------------------------------------------- checking


def _languages_with_data(task_names: Sequence[str], catalog: TaskCatalog) -> set[str]:
    return {catalog.get(t).info.data_language for t in task_names if t in catalog and catalog.has_data(catalog.get(t))}


def expected_languages(name: str, catalog: TaskCatalog = CATALOG) -> set[str]:
    """The data languages a bilingual mixture must hold (empty for a mixture not meant to be bilingual).

    bilingual_train: every meta-dataset's language; a pinch mixture: its base mixture's
    language(s) plus those of the tasks its pinch is drawn from (as defined, data or not).
    """
    if name in TRAIN_MIXTURES and len(TRAIN_MIXTURES[name]) > 1:
        return {META_LANGUAGE[meta] for meta in TRAIN_MIXTURES[name]}
    entry = catalog.mixture(name)
    if entry is None or not entry.pinch_from:
        return set()
    base = [t for t in entry.tasks if t not in entry.pinch_from]
    sources = [t for tasks in entry.pinch_from.values() for t in tasks]
    return {catalog.get(t).info.data_language for t in base + sources if t in catalog}


def missing_languages(name: str, catalog: TaskCatalog = CATALOG) -> list[str]:
    """The languages a bilingual mixture should hold but has no task with data in (sorted)."""
    expected = expected_languages(name, catalog)
    if not expected:
        return []
    entry = catalog.mixture(name)
    tasks = list(entry.tasks) if entry is not None else mixture_definitions(catalog).get(name, [])
    pinch = entry.pinch_from if entry is not None else {}
    present = _languages_with_data([t for t in tasks if t not in pinch], catalog)
    for source_tasks in pinch.values():
        present |= _languages_with_data(source_tasks, catalog)
    return sorted(expected - present)


@gin.configurable(module="xlit", allowlist=["allow_monolingual"])
def check_training_mixture(name: str, *, allow_monolingual: bool = False, catalog: TaskCatalog = CATALOG) -> None:
    """Checks a training mixture or task before a model is built; ValueError with one clear message.

    Errors: `name` is no registered task or mixture (close names suggested); none of its
    tasks has data (names the data directory setting); a mixture meant to be bilingual
    (bilingual_train, pinch mixtures) lacks one language (names it, and the escape hatch).
    """
    import seqio

    definitions = mixture_definitions(catalog)
    registered = set(seqio.MixtureRegistry.names()) | set(seqio.TaskRegistry.names())
    if name not in registered and name not in definitions and name not in catalog:
        known = sorted(set(seqio.MixtureRegistry.names()) | set(definitions) | set(catalog.names()))
        raise ValueError(f"no task or mixture named {name!r} is registered{suggestion(name, known)} "
                         f"(list them with `xlit tasks --mixtures` / `xlit tasks`)")
    if name in catalog:
        spec = catalog.get(name)
        if not catalog.has_data(spec):
            raise ValueError(f"task {name!r} has no data: its source {spec.source_name!r} has no "
                             f"{spec.default_split!r} files under {catalog.data_root(spec) or 'no directory'}; "
                             f"set {catalog.data_setting(spec)}")
        return
    entry = catalog.mixture(name)
    tasks = entry.tasks if entry is not None else definitions.get(name, [])
    pinch = entry.pinch_from if entry is not None else {}
    with_data = [t for t in tasks if t in pinch or (t in catalog and catalog.has_data(catalog.get(t)))]
    if name not in seqio.MixtureRegistry.names() or not with_data:
        settings = sorted({catalog.data_setting(catalog.get(t)) for t in tasks if t in catalog}) or [DATA_DIR_SETTING]
        raise ValueError(f"mixture {name!r}: none of its {len(tasks)} tasks has data under data directory "
                         f"{catalog.data_dir or '(not set)'}; set {' or '.join(settings)}")
    missing = missing_languages(name, catalog)
    if missing and not allow_monolingual:
        expected = sorted(expected_languages(name, catalog))
        raise ValueError(f"mixture {name!r} is meant to be bilingual ({'+'.join(expected)}) but has no "
                         f"{'/'.join(missing)} data under {catalog.data_dir or '(no data directory)'}: "
                         f"add the {'/'.join(missing)} datasets there (set {DATA_DIR_SETTING}), or train on "
                         f"what is there with {ALLOW_MONOLINGUAL_HINT}")


# ------------------------------------------------------------------------------ pinch


def _task_names_of(tasks_or_mixture: str | Sequence[str]) -> list[str]:
    import seqio

    if isinstance(tasks_or_mixture, str):
        if tasks_or_mixture in seqio.MixtureRegistry.names():
            return [t.name for t in seqio.MixtureRegistry.get(tasks_or_mixture).tasks]
        return [tasks_or_mixture]
    return list(tasks_or_mixture)


def pinch_rows(task_names: Sequence[str], num_examples: int, seed: int = 0) -> list[dict]:
    """N rendered training rows taken deterministically, round-robin over the tasks' seeded orders."""
    if num_examples <= 0:
        raise ValueError(f"num_examples must be positive, got {num_examples}")
    queues = []
    for name in sorted(task_names):
        spec = task_specs.get_spec(name)
        rows = task_specs.rendered_examples(spec, task_specs.train_split(spec) if spec.info.kind == "train" else None)
        order = list(range(len(rows)))
        random.Random(f"{seed}:{name}").shuffle(order)
        queues.append([rows[i] for i in order])
    total = sum(len(q) for q in queues)
    if total < num_examples:
        raise ValueError(f"pinch: asked for {num_examples} examples but {list(task_names)} hold only {total}")
    taken, position = [], 0
    while len(taken) < num_examples:
        for queue in queues:
            if position < len(queue) and len(taken) < num_examples:
                taken.append(queue[position])
        position += 1
    return taken


def make_pinch_mixture(
    base_mixture: str,
    other_language_tasks_or_mixture: str | Sequence[str],
    num_examples: int,
    name: str | None = None,
    seed: int = 0,
    catalog: TaskCatalog = CATALOG,
) -> seqio.Mixture:
    """A monolingual mixture plus a fixed, deterministic set of N examples from the other language.

    The N examples form one task (`pinch.{label}.n{N}`) whose rate makes N of them appear
    per epoch of the base mixture in expectation (an epoch: as many draws as the base
    tasks hold training examples); the base tasks keep their rates.
    """
    import seqio

    from seqio_tasks import preprocessors

    base = seqio.MixtureRegistry.get(base_mixture)
    other_names = _task_names_of(other_language_tasks_or_mixture)
    label = (naming.sanitize(other_language_tasks_or_mixture) if isinstance(other_language_tasks_or_mixture, str)
             else f"{len(other_names)}tasks")
    pinch_name = f"pinch.{label}.n{num_examples}.s{seed}"
    name = name or f"{base.name}.pinch_{label}_{num_examples}"
    rows_fn = functools.lru_cache(maxsize=1)(lambda: tuple(pinch_rows(other_names, num_examples, seed)))
    if pinch_name in seqio.TaskRegistry.names():
        seqio.TaskRegistry.remove(pinch_name)
    catalog.record_seqio_task(pinch_name)
    seqio.TaskRegistry.add(
        pinch_name,
        source=seqio.FunctionDataSource(
            dataset_fn=preprocessors.take_rows_dataset_fn(rows_fn, naming.sanitize(pinch_name)),
            splits=("train",), num_input_examples={"train": num_examples}),
        output_features=base.output_features,
        preprocessors=preprocessors.tokenize_and_append_eos(),
    )
    base_tasks = list(base.tasks)

    def pinch_rate(_task: seqio.Task) -> float:
        total_rate = sum(base.get_rate(t) for t in base_tasks)
        total_examples = sum(task_specs.num_examples(t.name, "train") or 0 for t in base_tasks)
        return num_examples * total_rate / max(total_examples, 1)

    task_rates = [(t.name, functools.partial(_rate_in, base)) for t in base_tasks] + [(pinch_name, pinch_rate)]
    return _register_mixture(name, task_rates, catalog, pinch_from={pinch_name: list(other_names)})


def _rate_in(mixture: seqio.Mixture, task: seqio.Task) -> float:
    return mixture.get_rate(task)
