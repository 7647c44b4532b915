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
- from the KORANI authors' dump: `{dataset}.train` for each KORANI training dataset
  without a raw source, and (when $XLIT_KORANI_DIR holds the dump) one evaluation task
  per dumped template, `{dataset}.ko_korani.dump{k}`.

Specs are built without reading any data; data presence is a file-existence check
(`has_data`), and counts (`num_examples`) read the data once and are cached.
"""
from __future__ import annotations

import dataclasses
import functools
import itertools
import logging
import os
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

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
# Source rows that cannot be read (e.g. an UnSmile row with no label set) are skipped, and
# each skipped row is logged as a warning with its file, line and reason; "raise" stops instead.
ON_ERROR = "skip"
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
    family: str | None = None
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
    return role == "heldout"


def is_train(role: str) -> bool:
    """Whether a taxonomy role names a training dataset."""
    return role == "train"


def _meta_of(dataset_info: Any) -> str:
    return str(dataset_info.meta)


def _pick_split(splits: Sequence[str], preference: Sequence[str], fallback: bool = True) -> str | None:
    for split in preference:
        if split in splits:
            return split
    return splits[0] if splits and fallback else None


def _scoring_and_metrics(family: str | None, renderer: Any) -> tuple[str, tuple[str, ...]]:
    """Rank classification (accuracy) for a template with answer choices, else generation metrics."""
    if _attr(renderer, "answer_choices"):
        return "rank", ("accuracy",)
    return "generation", GENERATION_METRICS.get(family or "", ("exact_match",))


def _template_id(renderer: Any) -> str:
    """The task-name id of a template: its own id, or `ps_{name}` for a promptsource template."""
    if _is_promptsource(renderer):
        return PROMPTSOURCE_PREFIX + naming.sanitize(str(renderer.name))
    return naming.sanitize(str(renderer.id))


def _is_promptsource(renderer: Any) -> bool:
    return type(renderer).__name__ == "PromptsourceTemplate"


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
    """The real promptsource templates of an English P3 dataset (taxonomy `promptsource` folders)."""
    folders = tuple(_attr(dataset_info, "promptsource", default=()))
    if not folders or dataset_info.language != "en":
        return []
    try:
        from seqio_tasks import promptsource
    except ImportError:
        return []
    templates = []
    for folder in folders:
        ps_dataset, _, ps_subset = str(folder).partition("/")
        try:
            templates += list(promptsource.load_promptsource_templates(
                ps_dataset, ps_subset or None, original_task_only=original_task_only))
        except FileNotFoundError as error:  # the promptsource files are data: absent without a data dir
            log.info("no promptsource templates for %s (%s): %s", dataset_info.name, folder, error)
    return templates


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
        renderers.append(("en", "p3", _template_id(template), template, "promptsource"))
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


def _dump_scoring(dataset_info: Any) -> tuple[str, tuple[str, ...]]:
    if str(_attr(dataset_info, "kind", default="nlu")) == "nlg":
        return "generation", GENERATION_METRICS.get(dataset_info.family or "", ("rouge_l",))
    return "rank", ("accuracy",)


def _dump_specs(dataset_infos: Sequence[Any], raw_sources: set[str]) -> list[TaskSpec]:
    """Tasks over the KORANI authors' pre-rendered dump ($XLIT_KORANI_DIR).

    Training: `{dataset}.train` for every KORANI training dataset without a raw source
    (always registered; its data is present when the dump is). Evaluation:
    `{dataset}.ko_korani.dump{k}` for every `test_tmp{k}.csv` found in the dump (only
    when the dump is present, since the template numbers come from its files).
    """
    from seqio_tasks import sources
    from seqio_tasks.sources import korani_dump

    root = korani_dump.dump_root()
    specs = []
    for dataset_info in dataset_infos:
        if _meta_of(dataset_info) != "korani" or _attr(dataset_info, "in_dump", default=True) is False:
            continue
        try:
            source = sources.get_source(f"korani_dump_{dataset_info.name}")
        except KeyError:
            continue
        common = dict(dataset=dataset_info.name, cluster=dataset_info.cluster, role=dataset_info.role,
                      data_language="ko", template_language="ko", template_style="korani", setting="native",
                      meta="korani", family=dataset_info.family, splits=tuple(source.splits),
                      origin="korani_dump")
        scoring, metrics = _dump_scoring(dataset_info)
        if is_train(dataset_info.role) and dataset_info.name not in raw_sources:
            info = TaskInfo(name=naming.train_task_name(dataset_info.name), template_id=None, scoring=scoring,
                            metrics=metrics, kind="train", eval_split=None, **common)
            specs.append(TaskSpec(info=info, source_name=source.name))
        if root is None or not root.is_dir():
            continue
        try:
            files = source.files("test")
        except (KeyError, FileNotFoundError, ValueError):
            continue
        indices = sorted({korani_dump.template_index_of(f) for f in files} - {None})
        for k in indices:
            template_id = f"{DUMP_PREFIX}{k}"
            info = TaskInfo(name=naming.eval_task_name(dataset_info.name, "ko", "korani", template_id),
                            template_id=template_id, scoring=scoring, metrics=metrics, kind="eval",
                            eval_split="test", **common)
            specs.append(TaskSpec(info=info, source_name=source.name, dump_template_index=k))
    return specs


def _catalog_key() -> tuple:
    """What the set of tasks depends on: taxonomy datasets, sources and the KORANI dump folder."""
    from seqio_tasks import sources, taxonomy
    from seqio_tasks.sources import korani_dump

    return (tuple(d.name for d in taxonomy.all_datasets()), tuple(s.name for s in sources.all_sources()),
            str(korani_dump.dump_root()))


def _specs_by_name() -> dict[str, TaskSpec]:
    """The task specs, rebuilt when the taxonomy, the sources or the KORANI dump folder change."""
    return _build_specs(_catalog_key())


@functools.lru_cache(maxsize=4)
def _build_specs(catalog_key: tuple) -> dict[str, TaskSpec]:
    del catalog_key  # the cache key only
    from seqio_tasks import sources, taxonomy

    specs: dict[str, TaskSpec] = {}

    def add(spec: TaskSpec) -> None:
        if spec.name in specs:
            raise ValueError(f"duplicate task name {spec.name!r}")
        specs[spec.name] = spec

    dataset_infos = list(taxonomy.all_datasets())
    raw_sources = set()
    for dataset_info in dataset_infos:
        source_name = _attr(dataset_info, "source")
        if not source_name:
            continue
        raw_sources.add(dataset_info.name)
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
    for spec in _dump_specs(dataset_infos, raw_sources):
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
    _build_specs.cache_clear()
    _load_rows.cache_clear()
    _num_examples.cache_clear()


# ------------------------------------------------------------------- data and rendering


def _data_dir() -> Path | None:
    from seqio_tasks.paths import data_dir

    return data_dir()


def has_data(spec: TaskSpec, split: str | None = None) -> bool:
    """Whether the files behind a task's split (default: its eval split, or 'train' for training) exist."""
    info = spec.info
    split = split or (info.eval_split if info.kind == "eval" else train_split(spec))
    if split is None or (info.splits and split not in info.splits):
        return False
    from seqio_tasks import sources

    source = sources.get_source(spec.source_name)
    is_dump = spec.info.origin == "korani_dump"
    if is_dump:
        from seqio_tasks.sources import korani_dump

        root = korani_dump.dump_root()
    else:
        root = _data_dir()
    try:
        files = list(source.files(split))
    except (KeyError, FileNotFoundError):  # sources.MissingDataError is a FileNotFoundError
        return False
    if is_dump and spec.dump_template_index is not None:
        from seqio_tasks.sources import korani_dump

        files = [f for f in files if korani_dump.template_index_of(f) == spec.dump_template_index]
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
def _load_rows(source_name: str, split: str, root: str | None) -> tuple[dict, ...]:
    from seqio_tasks import sources

    source = sources.get_source(source_name)
    rows = source.load(split, data_dir=Path(root) if root else None, on_error=ON_ERROR)
    report = getattr(source, "last_load_report", None)
    if report is not None and report.num_skipped:
        log.warning("%s", report.summary())
    return tuple(rows)


def source_rows(spec: TaskSpec, split: str) -> tuple[dict, ...]:
    """The rows of a task's source split (cached per source, split and data directory)."""
    if spec.info.origin == "korani_dump":
        from seqio_tasks.sources import korani_dump

        root = korani_dump.dump_root()
    else:
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
    A row whose render is empty (the template does not apply to it: promptsource templates
    on some rows, unlabelled rows) is left out and counted in a log line.
    """
    return list(itertools.islice(iter_rendered_examples(spec, split), max_examples))


def iter_rendered_examples(spec: TaskSpec, split: str | None = None) -> Iterator[dict]:
    """`rendered_examples`, one row at a time (rendering lazily)."""
    info = spec.info
    split = split or (info.eval_split if info.kind == "eval" else train_split(spec))
    if split is None:
        raise ValueError(f"task {spec.name} has no split to read")
    if info.splits and split not in info.splits:
        raise ValueError(f"task {spec.name} has no split {split!r}; it has {list(info.splits)}")
    if info.origin == "korani_dump":
        yield from _dump_examples(spec, split)
        return
    rows = source_rows(spec, split)
    skipped = 0
    for position, row in enumerate(rows):
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
        yield _rendered_row(rendered, idx)
    if skipped:
        log.info("task %s split %s: %d of %d rows left out (template does not apply)",
                 spec.name, split, skipped, len(rows))


def _dump_rows(spec: TaskSpec, split: str) -> list[dict]:
    rows = source_rows(spec, split)
    if spec.dump_template_index is None:
        return list(rows)
    return [row for row in rows if row.get("template_index") == spec.dump_template_index]


def _dump_examples(spec: TaskSpec, split: str) -> Iterator[dict]:
    """Pre-rendered dump rows; options are kept only where the target is among them (rank-scorable)."""
    for row in _dump_rows(spec, split):
        rank = row.get("scoring") == "rank" and row.get("label") is not None
        yield {"idx": int(row["idx"]), "inputs": row["inputs"], "targets": row["targets"],
               "options": list(row["options"]) if rank else None,
               "answer_index": int(row["label"]) if rank else None}


def num_examples(name: str, split: str | None = None) -> int | None:
    """Input rows of a task's split (default: eval split, or train split), or None without data.

    Counts source rows before rendering (seqio's `num_input_examples`), so counting never
    renders templates; rows a template does not apply to are still counted. Cached per
    data directory.
    """
    from seqio_tasks.sources import korani_dump

    return _num_examples(name, split, str(_data_dir()), str(korani_dump.dump_root()))


@functools.lru_cache(maxsize=None)
def _num_examples(name: str, split: str | None, data_dir: str, dump_root: str) -> int | None:
    del data_dir, dump_root  # cache keys only
    spec = get_spec(name)
    split = split or (spec.info.eval_split if spec.info.kind == "eval" else train_split(spec))
    if not has_data(spec, split):
        return None
    if spec.info.origin == "korani_dump":
        return len(_dump_rows(spec, split))
    return len(source_rows(spec, split))


def specs_matching(predicate: Callable[[TaskInfo], bool]) -> list[TaskSpec]:
    """The specs whose info satisfies a predicate."""
    return [spec for spec in all_specs() if predicate(spec.info)]
