"""What each task is, without TensorFlow: task metadata (TaskInfo), and its rendered examples.

The seqio registration (`seqio_tasks.tasks`) and the TF-free evaluator data
(`seqio_tasks.eval_data`) both read tasks from here, so the text a seqio task yields and
the text the evaluator scores are produced by the same function, `rendered_examples`.

Which tasks exist:
- one evaluation task per (dataset, template) for every dataset in the taxonomy that has
  a source, over every original-task template of the dataset's family that applies to it,
  in every language and style (Korean data in English templates is a task too); English
  P3 datasets with a promptsource mapping add the real promptsource templates (style
  `p3`, language `en`, ids prefixed `ps_`);
- one training task per training-role dataset (`{dataset}.train`) over its native
  templates, and `{dataset}.train.{lang}_{style}` over each other template set;
- with a KORANI dump ($XLIT_KORANI_DIR), one evaluation task per dump template
  (`{dataset}.ko_korani.dump{k}`) for each dataset in the dump.
"""
from __future__ import annotations

import dataclasses
import functools
import logging
import os
from pathlib import Path
from typing import Any, Callable, Sequence

from seqio_tasks import naming

log = logging.getLogger(__name__)

# The style each language's meta-dataset is written in: Korean KORANI, English P3 (T0).
NATIVE_STYLE = {"ko": "korani", "en": "p3"}
# Eval split preference per meta-dataset: KORANI reports test scores, T0 validation scores.
EVAL_SPLIT_PREFERENCE = {
    "korani": ("test", "validation", "dev", "val", "train"),
    "p3": ("validation", "dev", "val", "test", "train"),
}
TRAIN_SPLIT_PREFERENCE = ("train",)  # training tasks train on train splits only
GENERATION_METRICS = {
    "extractive_qa": ("exact_match", "f1"),
    "translation": ("bleu", "chrf"),
    "summarization": ("rouge_l",),
    "sts": ("pearson", "spearman"),
}
PROMPTSOURCE_PREFIX = "ps_"
# Long fields (passages, contexts, documents) are cut to this many characters before
# rendering, so an instruction after a passage survives; templates may cut further.
MAX_FIELD_CHARS = 4000
DUMP_PREFIX = "dump"


@dataclasses.dataclass(frozen=True)
class TaskInfo:
    """Metadata of one registered task: what data, under which templates, scored how."""

    name: str
    dataset: str
    cluster: str
    role: str                      # the dataset's role in its meta-dataset (train / heldout / extra)
    data_language: str
    template_language: str
    template_style: str
    template_id: str | None        # None for training tasks (they spread over template_ids)
    setting: str                   # "native" | "cross_lingual" | "translated"
    scoring: str                   # "rank" | "generation"
    metrics: tuple[str, ...]
    kind: str = "eval"             # "eval" | "train"
    meta: str = ""
    family: str = ""
    splits: tuple[str, ...] = ()
    eval_split: str | None = None
    template_ids: tuple[str, ...] = ()
    origin: str = "templates"      # "templates" | "promptsource" | "korani_dump"

    def to_dict(self) -> dict:
        """A JSON-ready dict of the fields."""
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class TaskSpec:
    """A task's metadata plus what renders it: a source name and templates, or dump rows."""

    info: TaskInfo
    source_name: str | None
    renderers: tuple[Any, ...] = ()     # objects with .render(example) -> RenderedExample
    dump_template_index: int | None = None

    @property
    def name(self) -> str:
        return self.info.name


# ----------------------------------------------------------------------------- helpers


def _attr(obj: Any, *names: str, default: Any = None) -> Any:
    for name in names:
        value = getattr(obj, name, None)
        if value is not None:
            return value
    return default


def is_heldout(role: str) -> bool:
    """Whether a taxonomy role names a held-out evaluation dataset."""
    return str(role).lower().replace("-", "").replace("_", "") in ("heldout", "h", "eval", "evaluation")


def is_train(role: str) -> bool:
    """Whether a taxonomy role names a training dataset."""
    return str(role).lower() in ("train", "training", "t")


def _meta_of(dataset_info: Any) -> str:
    meta = str(_attr(dataset_info, "meta", default="")).lower()
    if meta in ("p3", "t0", "english", "en"):
        return "p3"
    if meta in ("korani", "ko", "korean"):
        return "korani"
    return meta or ("korani" if dataset_info.language == "ko" else "p3")


def _pick_split(splits: Sequence[str], preference: Sequence[str], fallback: bool = True) -> str | None:
    for split in preference:
        if split in splits:
            return split
    return splits[0] if splits and fallback else None


def _scoring_and_metrics(family: str, renderer: Any) -> tuple[str, tuple[str, ...]]:
    choices = _attr(renderer, "answer_choices")
    if choices or family not in GENERATION_METRICS:
        if choices:
            return "rank", ("accuracy",)
    return "generation", GENERATION_METRICS.get(family, ("exact_match",))


def _template_id(renderer: Any) -> str:
    return naming.sanitize(str(_attr(renderer, "id", "name")))


# ------------------------------------------------------------------ enumerating tasks


def _templates_for(family: str, dataset: str, language: str | None = None, style: str | None = None,
                   original_task: bool | None = None) -> list[Any]:
    from seqio_tasks import templating

    kwargs = {"family": family, "dataset": dataset}
    if language is not None:
        kwargs["language"] = language
    if style is not None:
        kwargs["style"] = style
    if original_task is not None:
        kwargs["original_task"] = original_task
    return list(templating.get_templates(**kwargs))


def _promptsource_for(dataset_info: Any, original_task_only: bool) -> list[Any]:
    """The real promptsource templates of an English P3 dataset, renamed `ps_*`; [] if none."""
    if dataset_info.language != "en" or _meta_of(dataset_info) != "p3":
        return []
    try:
        from seqio_tasks import promptsource
    except ImportError:
        return []
    mapping = getattr(promptsource, "PROMPTSOURCE_DATASETS", {}).get(dataset_info.name)
    if mapping is None:
        return []
    ps_dataset, ps_subset = mapping if isinstance(mapping, (tuple, list)) else (mapping, None)
    try:
        templates = promptsource.load_promptsource_templates(
            ps_dataset, ps_subset, original_task_only=original_task_only)
    except FileNotFoundError as error:
        log.info("no promptsource templates for %s: %s", dataset_info.name, error)
        return []
    return list(templates)


def _template_sets(family: str, dataset: str) -> list[tuple[str, str]]:
    """(language, style) pairs that have at least one template for the family."""
    sets = {(t.language, t.style) for t in _templates_for(family, dataset)}
    return sorted(sets)


def _eval_specs(dataset_info: Any, source: Any) -> list[TaskSpec]:
    family, meta = dataset_info.family, _meta_of(dataset_info)
    splits = tuple(source.splits)
    renderers: list[tuple[str, str, str, Any, str]] = []
    for template in _templates_for(family, dataset_info.name, original_task=True):
        renderers.append((template.language, template.style, _template_id(template), template, "templates"))
    for template in _promptsource_for(dataset_info, original_task_only=True):
        renderers.append(("en", "p3", PROMPTSOURCE_PREFIX + _template_id(template), template, "promptsource"))
    specs, seen = [], set()
    for language, style, template_id, template, origin in renderers:
        name = naming.eval_task_name(dataset_info.name, language, style, template_id)
        if name in seen:
            raise ValueError(f"two templates give the same task name {name!r} (dataset {dataset_info.name})")
        seen.add(name)
        scoring, metrics = _scoring_and_metrics(family, template)
        info = TaskInfo(
            name=name, dataset=dataset_info.name, cluster=dataset_info.cluster, role=dataset_info.role,
            data_language=dataset_info.language, template_language=language, template_style=style,
            template_id=template_id,
            setting=naming.setting(dataset_info.language, language, style, NATIVE_STYLE),
            scoring=scoring, metrics=metrics, kind="eval", meta=meta, family=family, splits=splits,
            eval_split=_pick_split(splits, EVAL_SPLIT_PREFERENCE.get(meta, EVAL_SPLIT_PREFERENCE["p3"])),
            origin=origin)
        specs.append(TaskSpec(info=info, source_name=source.name, renderers=(template,)))
    return specs


def _train_specs(dataset_info: Any, source: Any) -> list[TaskSpec]:
    family, meta, language = dataset_info.family, _meta_of(dataset_info), dataset_info.language
    splits = tuple(source.splits)
    native = NATIVE_STYLE.get(language)
    specs = []
    for template_language, style in _template_sets(family, dataset_info.name):
        templates = _templates_for(family, dataset_info.name, language=template_language, style=style)
        is_native = template_language == language and style == native
        if is_native:
            templates += _promptsource_for(dataset_info, original_task_only=False)
        if not templates:
            continue
        name = (naming.train_task_name(dataset_info.name) if is_native
                else naming.train_task_name(dataset_info.name, template_language, style))
        scorings = {_scoring_and_metrics(family, t) for t in templates}
        scoring, metrics = sorted(scorings)[0] if len(scorings) == 1 else ("generation", ("exact_match",))
        ids = tuple(_template_id(t) for t in templates)
        info = TaskInfo(
            name=name, dataset=dataset_info.name, cluster=dataset_info.cluster, role=dataset_info.role,
            data_language=language, template_language=template_language, template_style=style,
            template_id=None, setting=naming.setting(language, template_language, style, NATIVE_STYLE),
            scoring=scoring, metrics=metrics, kind="train", meta=meta, family=family, splits=splits,
            eval_split=None, template_ids=ids)
        specs.append(TaskSpec(info=info, source_name=source.name, renderers=tuple(templates)))
    return specs


def _dump_specs() -> list[TaskSpec]:
    """Evaluation tasks over the KORANI authors' pre-rendered dump, when $XLIT_KORANI_DIR is set."""
    from xlit_jax.paths import korani_dir

    root = korani_dir()
    if root is None or not Path(root).is_dir():
        return []
    from seqio_tasks.sources import korani_dump
    from seqio_tasks import taxonomy

    specs = []
    for dataset, template_indices in sorted(korani_dump.list_eval_templates(root).items()):
        try:
            dataset_info = taxonomy.get(dataset)
        except KeyError:
            log.warning("KORANI dump dataset %r is not in the taxonomy; skipped", dataset)
            continue
        for k in sorted(template_indices):
            name = naming.eval_task_name(naming.sanitize(dataset), "ko", "korani", f"{DUMP_PREFIX}{k}")
            scoring = "rank" if dataset_info.family not in GENERATION_METRICS else "generation"
            metrics = ("accuracy",) if scoring == "rank" else GENERATION_METRICS[dataset_info.family]
            info = TaskInfo(
                name=name, dataset=dataset_info.name, cluster=dataset_info.cluster, role=dataset_info.role,
                data_language="ko", template_language="ko", template_style="korani", template_id=f"{DUMP_PREFIX}{k}",
                setting="native", scoring=scoring, metrics=metrics, kind="eval", meta="korani",
                family=dataset_info.family, splits=("test",), eval_split="test", origin="korani_dump")
            specs.append(TaskSpec(info=info, source_name=None, dump_template_index=k))
    return specs


@functools.lru_cache(maxsize=None)
def _specs_by_name() -> dict[str, TaskSpec]:
    from seqio_tasks import sources, taxonomy

    specs: dict[str, TaskSpec] = {}

    def add(spec: TaskSpec) -> None:
        if spec.name in specs:
            raise ValueError(f"duplicate task name {spec.name!r}")
        specs[spec.name] = spec

    for dataset_info in taxonomy.all_datasets():
        source_name = _attr(dataset_info, "source")
        if not source_name:
            continue
        try:
            source = sources.get_source(source_name)
        except KeyError:
            log.warning("dataset %s names source %r, which does not exist; no tasks", dataset_info.name, source_name)
            continue
        for spec in _eval_specs(dataset_info, source):
            add(spec)
        if is_train(dataset_info.role):
            for spec in _train_specs(dataset_info, source):
                add(spec)
    for spec in _dump_specs():
        if spec.name not in specs:
            add(spec)
    return specs


def all_specs() -> list[TaskSpec]:
    """Every task spec, sorted by name."""
    return [spec for _, spec in sorted(_specs_by_name().items())]


def get_spec(name: str) -> TaskSpec:
    """The spec of one task; KeyError names close matches."""
    specs = _specs_by_name()
    if name not in specs:
        naming.parse(name)  # a clear error for a malformed name
        close = [n for n in specs if n.split(".")[0] == name.split(".")[0]][:8]
        raise KeyError(f"no task {name!r}" + (f"; tasks of that dataset: {close}" if close else ""))
    return specs[name]


def task_info(name: str) -> TaskInfo:
    """The metadata of one task (TF-free)."""
    return get_spec(name).info


def clear_cache() -> None:
    """Forgets enumerated specs, loaded rows and counts (after changing the data directory)."""
    _specs_by_name.cache_clear()
    _load_rows.cache_clear()
    num_examples.cache_clear()


# ------------------------------------------------------------------- data and rendering


def _data_dir() -> Path | None:
    from xlit_jax.paths import data_dir

    return data_dir()


def has_data(spec: TaskSpec, split: str | None = None) -> bool:
    """Whether the files behind a task's split (default: its eval split, or 'train' for training) exist."""
    info = spec.info
    split = split or (info.eval_split if info.kind == "eval" else train_split(spec))
    if split is None or (info.splits and split not in info.splits):
        return False
    if spec.dump_template_index is not None:
        return True  # dump specs exist only when the dump is present
    from seqio_tasks import sources

    source = sources.get_source(spec.source_name)
    root = _data_dir()
    try:
        files = list(source.files(split))
    except (KeyError, ValueError, FileNotFoundError):
        return False
    if not files:
        return False
    for file in files:
        path = Path(file)
        if not path.is_absolute():
            if root is None:
                return False
            path = root / path
        if not path.exists():
            return False
    return True


def train_split(spec: TaskSpec) -> str | None:
    """The split a training task trains on ('train' when the source has it)."""
    return _pick_split(spec.info.splits, TRAIN_SPLIT_PREFERENCE, fallback=False)


@functools.lru_cache(maxsize=64)
def _load_rows(source_name: str, split: str, data_dir: str | None) -> tuple[dict, ...]:
    from seqio_tasks import sources

    source = sources.get_source(source_name)
    rows = source.load(split, data_dir=Path(data_dir) if data_dir else None)
    return tuple(rows)


def source_rows(spec: TaskSpec, split: str) -> tuple[dict, ...]:
    """The family-schema rows of a task's source split (cached per source, split and data dir)."""
    if spec.source_name is None:
        raise ValueError(f"task {spec.name} has no source (it is a dump task)")
    root = _data_dir()
    return _load_rows(spec.source_name, split, str(root) if root else None)


def _render(renderer: Any, row: dict) -> Any:
    from seqio_tasks import templating

    if isinstance(renderer, templating.Template):
        return renderer.render(row, max_field_chars=MAX_FIELD_CHARS)
    return renderer.render(row)


def _rendered_row(rendered: Any, idx: int) -> dict:
    options = getattr(rendered, "options", None)
    answer_index = getattr(rendered, "answer_index", None)
    return {
        "idx": int(idx),
        "inputs": str(rendered.inputs),
        "targets": str(rendered.targets),
        "options": [str(o) for o in options] if options else None,
        "answer_index": None if answer_index is None else int(answer_index),
    }


def rendered_examples(spec: TaskSpec, split: str | None = None, max_examples: int | None = None) -> list[dict]:
    """Rows {idx, inputs, targets, options, answer_index} of a task split, rendered from its templates.

    Evaluation tasks render every row with their one template. Training tasks give row i
    template i mod n (their templates in a fixed order), so each template sees a fair share.
    A row whose render is empty (the template does not apply to it, as promptsource
    templates do for unlabelled rows) is left out and counted in a log line.
    """
    info = spec.info
    split = split or (info.eval_split if info.kind == "eval" else train_split(spec))
    if split is None:
        raise ValueError(f"task {spec.name} has no split to read")
    if spec.dump_template_index is not None:
        return _dump_examples(spec, split, max_examples)
    if info.splits and split not in info.splits:
        raise ValueError(f"task {spec.name} has no split {split!r}; it has {list(info.splits)}")
    rows = source_rows(spec, split)
    out, skipped = [], 0
    for position, row in enumerate(rows):
        if max_examples is not None and len(out) >= max_examples:
            break
        renderer = spec.renderers[position % len(spec.renderers)]
        idx = row.get("idx", position)
        try:
            rendered = _render(renderer, row)
        except Exception as error:  # name the task, template and row, then re-raise
            raise ValueError(f"task {spec.name}: template {_template_id(renderer)!r} failed on "
                             f"{split} row idx={idx}: {error}") from error
        if rendered is None or not str(rendered.inputs).strip() or not str(rendered.targets).strip():
            skipped += 1
            continue
        out.append(_rendered_row(rendered, idx))
    if skipped:
        log.info("task %s split %s: %d rows left out (template does not apply)", spec.name, split, skipped)
    return out


def _dump_examples(spec: TaskSpec, split: str, max_examples: int | None) -> list[dict]:
    from seqio_tasks.sources import korani_dump
    from xlit_jax.paths import korani_dir

    rows = korani_dump.load_eval(korani_dir(), spec.info.dataset, spec.dump_template_index)
    out = []
    for position, row in enumerate(rows):
        if max_examples is not None and len(out) >= max_examples:
            break
        options = row.get("options") or None
        answer_index = None
        if options and row["targets"] in options:
            answer_index = list(options).index(row["targets"])
        out.append({"idx": int(row.get("idx", position)), "inputs": row["inputs"], "targets": row["targets"],
                    "options": list(options) if options else None, "answer_index": answer_index})
    return out


@functools.lru_cache(maxsize=None)
def num_examples(name: str, split: str | None = None) -> int | None:
    """Input rows of a task's split (default: eval split, or train split), or None without data.

    Counts source rows before rendering (seqio's `num_input_examples`), so counting never
    renders templates; rows a template does not apply to are still counted.
    """
    spec = get_spec(name)
    split = split or (spec.info.eval_split if spec.info.kind == "eval" else train_split(spec))
    if not has_data(spec, split):
        return None
    if spec.dump_template_index is not None:
        return len(_dump_examples(spec, split, None))
    return len(source_rows(spec, split))


def specs_matching(predicate: Callable[[TaskInfo], bool]) -> list[TaskSpec]:
    """The specs whose info satisfies a predicate."""
    return [spec for spec in all_specs() if predicate(spec.info)]
