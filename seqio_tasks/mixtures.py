"""seqio Mixtures: T0 and KORANI training mixtures, held-out evaluation mixtures, pinch mixtures.

Importing this module (and `mixture_definitions`) needs neither seqio nor TensorFlow; the
functions that register import seqio themselves.

Registered by `register_all()` (tasks first, then mixtures), which is the one place that
fills the seqio registries; `import seqio_tasks.registered` calls it (the seqio habit of
registering by import). Nothing else registers on import.

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
"""
from __future__ import annotations

import functools
import logging
import random
from typing import Callable, Sequence

from typing import TYPE_CHECKING

import gin

from seqio_tasks import naming, task_specs
from seqio_tasks.vocab import get_vocabulary

if TYPE_CHECKING:
    import seqio

log = logging.getLogger(__name__)

T0_CAP = 500_000
TRAIN_MIXTURES = {"p3_t0_train": ("p3",), "korani_train": ("korani",), "bilingual_train": ("p3", "korani")}
HELDOUT_META = {"p3": "en", "korani": "ko"}
_STATE: dict = {"key": None, "mixtures": []}


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


def _register_mixture(name: str, task_rates: Sequence[tuple[str, object]]) -> seqio.Mixture:
    import seqio

    if name in seqio.MixtureRegistry.names():
        seqio.MixtureRegistry.remove(name)
    return seqio.MixtureRegistry.add(name, list(task_rates))


def make_mixture_from_tasks(name: str, task_names: Sequence[str], rate: object | None = None) -> seqio.Mixture:
    """Registers a mixture of registered tasks; rate: number or function of the task (default examples_rate())."""
    import seqio

    if not task_names:
        raise ValueError(f"mixture {name!r}: no tasks")
    missing = [t for t in task_names if t not in seqio.TaskRegistry.names()]
    if missing:
        raise KeyError(f"mixture {name!r}: tasks not registered: {missing[:5]}")
    rate = examples_rate() if rate is None else rate
    return _register_mixture(name, [(t, rate) for t in task_names])


def _present(spec: task_specs.TaskSpec) -> bool:
    split = task_specs.train_split(spec) if spec.info.kind == "train" else None
    return task_specs.has_data(spec, split)


def mixture_definitions() -> dict[str, list[str]]:
    """Mixture name -> the task names it would hold if all data were present (no data read)."""
    specs = task_specs.all_specs()
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
    for meta, data_language in HELDOUT_META.items():
        heldout = [s for s in specs if s.info.kind == "eval" and s.info.meta == meta
                   and s.info.data_language == data_language and task_specs.is_heldout(s.info.role)]
        for setting in naming.SETTINGS:
            out[naming.heldout_mixture_name(meta, data_language, setting)] = [
                s.name for s in heldout if s.info.setting == setting]
        out[naming.heldout_mixture_name(meta, data_language, "all")] = [s.name for s in heldout]
    return {name: task_names for name, task_names in out.items() if task_names}


def register_mixtures() -> list[str]:
    """Registers the training and held-out mixtures over the tasks with data present."""
    registered = []
    for name, task_names in mixture_definitions().items():
        present = [t for t in task_names if _present(task_specs.get_spec(t))]
        if not present:
            log.info("mixture %s: no task has data here; not registered", name)
            continue
        is_train = not name.split(".")[0].endswith("_heldout")
        rate = training_rate() if is_train else examples_rate(cap=None)
        _register_mixture(name, [(t, rate) for t in present])
        registered.append(name)
    return registered


def register_all(vocabulary: seqio.Vocabulary | None = None) -> dict[str, list[str]]:
    """Registers every task and mixture once (again only when the vocabulary or data directory changed)."""
    import seqio

    from seqio_tasks import tasks
    from seqio_tasks.paths import data_dir, korani_dir

    vocabulary = vocabulary or get_vocabulary()
    key = (tasks.vocabulary_key(vocabulary), str(data_dir()), str(korani_dir()), task_specs._catalog_key(),
           training_rate_config())
    if _STATE["key"] == key and all(n in seqio.MixtureRegistry.names() for n in _STATE["mixtures"]):
        return {"tasks": [s.name for s in task_specs.all_specs()], "mixtures": list(_STATE["mixtures"])}
    if _STATE["key"] is not None and _STATE["key"][1:] != key[1:]:
        task_specs.clear_cache()
    task_names = tasks.register_tasks(vocabulary)
    for name in list(_STATE["mixtures"]):
        if name in seqio.MixtureRegistry.names():
            seqio.MixtureRegistry.remove(name)
    mixture_names = register_mixtures()
    _STATE["mixtures"] = list(mixture_names)
    _STATE["key"] = key
    return {"tasks": task_names, "mixtures": mixture_names}


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
    return _register_mixture(name, task_rates)


def _rate_in(mixture: seqio.Mixture, task: seqio.Task) -> float:
    return mixture.get_rate(task)
