"""What each task is, without TensorFlow: task metadata (TaskInfo), and its rendered examples.

The seqio registration (`seqio_tasks.tasks`) and the TF-free evaluator data
(`seqio_tasks.eval_data`) both read tasks from here, so the text a seqio task yields and
the text the evaluator scores are produced by the same function, `rendered_examples`.

Which tasks exist:
- one evaluation task per (dataset, template) for every dataset in the taxonomy that has
  a source with a labelled split other than train, over every original-task template of
  the dataset's family that applies to it, in every language and style (Korean data in
  English templates is a task too); English P3 datasets with a promptsource mapping add
  their original-task promptsource templates (style `p3`, language `en`, ids prefixed
  `ps_`). A dataset labelled only in its train split has no evaluation task;
- the aligned cross-lingual arm: a held-out dataset of an ALIGNED_METAS meta-dataset (KORANI)
  whose family has an English counterpart in `promptsource.ALIGNED_COUNTERPARTS` also gets one
  evaluation task per original-task promptsource template of that counterpart,
  `{dataset}.en_p3aligned.ps_{name}` (KoBEST COPA in SuperGLUE COPA's templates, KorNLI and
  KLUE-NLI in ANLI's), when the data directory has the promptsource files;
- one training task per training-role dataset (`{dataset}.train`) over its native
  templates (for an English P3 dataset, as T0: every promptsource template of the
  dataset when the data directory has them), and `{dataset}.train.{lang}_{style}` over
  each other template set;
- from the KORANI authors' dump: `{dataset}.train` for each KORANI training dataset
  without a raw source, and (when the KORANI dump directory holds the dump) one evaluation
  task per dumped template, `{dataset}.ko_korani.dump{k}`; every dataset folder of the
  dump registers, the taxonomy's `in_dump: false` ones and unknown folders included.

`builtin_specs(data_dir, korani_dir)` builds them without reading any data. They live in a
`catalog.TaskCatalog` (the default `catalog.CATALOG`, filled by
`seqio_tasks.registration`); the module functions below (`get_spec`, `has_data`,
`num_examples`, `rendered_examples`, ...) read the default catalog. Every task renders
through the renderer protocol (`seqio_tasks.renderers.Renderer`): YAML templates,
promptsource templates and the dump's pre-rendered prompts alike.
"""
from __future__ import annotations

import dataclasses
import itertools
import logging
from pathlib import Path
from typing import Any, Iterator, Sequence

from seqio_tasks import naming, promptsource, templating
from seqio_tasks.catalog import CATALOG, TaskCatalog
from seqio_tasks.renderers import PrerenderedPrompts, Renderer

log = logging.getLogger(__name__)

# The style each language's meta-dataset is written in: Korean KORANI, English P3 (T0).
NATIVE_STYLE = {"ko": "korani", "en": "p3"}
# Eval split preference per meta-dataset: KORANI reports test scores, T0 validation scores.
# Never the train split: a dataset whose only labelled split is train (Cosmos QA, QuAIL and
# PAWS from the shared data, parakqc) has training tasks and no evaluation tasks.
EVAL_SPLIT_PREFERENCE = {
    "korani": ("test", "validation", "dev", "val"),
    "p3": ("validation", "dev", "val", "test"),
}
TRAIN_SPLIT_PREFERENCE = ("train",)  # training tasks train on train splits only
GENERATION_METRICS = {
    "extractive_qa": ("exact_match", "f1"),
    "translation": ("bleu", "chrf"),
    "summarization": ("rouge_l",),
    "sts": ("pearson", "spearman"),
    "concepts_to_text": ("rouge_l",),
}
PROMPTSOURCE_PREFIX = promptsource.TEMPLATE_ID_PREFIX
# Meta-datasets whose held-out datasets get the aligned cross-lingual arm (promptsource templates
# of the English counterpart): KORANI's. Other non-English sets (XCOPA) keep xlit's templates only.
ALIGNED_METAS = ("korani",)
# Long fields (passages, contexts, documents) are cut to this many characters before
# rendering, so an instruction after a passage survives; templates may cut further.
MAX_FIELD_CHARS = 4000


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
    setting: str                   # "native" | "cross_lingual" | "translated" (mixtures use it)
    scoring: str                   # "rank" | "generation"
    metrics: tuple[str, ...]
    kind: str = "eval"             # "eval" | "train"
    meta: str = ""
    family: str | None = None
    splits: tuple[str, ...] = ()
    eval_split: str | None = None
    template_ids: tuple[str, ...] = ()
    origin: str = "templates"      # "templates" | "promptsource" | "korani_dump"
    # the evaluation protocol's category (naming.TEMPLATE_CATEGORIES): the setting, with native
    # split into promptsource / xlit's own English templates, the aligned arm and the dump apart
    template_category: str = ""

    def __post_init__(self) -> None:
        if not self.template_category:
            object.__setattr__(self, "template_category", self.setting)

    def to_dict(self) -> dict:
        """A JSON-ready dict of the fields."""
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True, eq=False)
class TaskSpec:
    """A task's metadata, the source its rows come from, and the renderers that turn rows into prompts."""

    info: TaskInfo
    source: Any                          # a Source-like object: name, splits, data_root, paths, load
    renderers: tuple[Renderer, ...] = ()  # an eval task has one; a training task spreads rows over several

    @property
    def name(self) -> str:
        return self.info.name

    @property
    def source_name(self) -> str:
        """The name of the task's data source."""
        return self.source.name

    @property
    def default_split(self) -> str | None:
        """The split a task reads unless told: its eval split, or 'train' for a training task."""
        if self.info.kind == "eval":
            return self.info.eval_split
        return _pick_split(self.info.splits, TRAIN_SPLIT_PREFERENCE, fallback=False)


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


def _scoring_and_metrics(family: str | None, renderer: Renderer) -> tuple[str, tuple[str, ...]]:
    """Rank classification (accuracy) for a renderer with answer choices, else the family's generation metrics."""
    if renderer.ranks:
        return "rank", ("accuracy",)
    return "generation", GENERATION_METRICS.get(family or "", getattr(renderer, "generation_metrics", ("exact_match",)))


# ------------------------------------------------------------------ enumerating tasks


def _templates_for(family: str, dataset: str, language: str | None = None, style: str | None = None,
                   original_task: bool | None = None) -> list[Renderer]:
    """xlit's YAML templates of a family that apply to a dataset, bound to the catalog's field limit."""
    kwargs = {"family": family, "dataset": dataset}
    if language is not None:
        kwargs["language"] = language
    if style is not None:
        kwargs["style"] = style
    if original_task is not None:
        kwargs["original_task"] = original_task
    return [dataclasses.replace(t, max_field_chars=MAX_FIELD_CHARS) for t in templating.get_templates(**kwargs)]


class _PromptsourceFolders:
    """The promptsource templates of the data directory, with one log line per missing folder."""

    def __init__(self, data_dir: Path | None):
        self.directory = data_dir / "promptsource_templates" if data_dir is not None else None
        self.missing: list[str] = []
        self.unconverted: set[str] = set()

    def aligned(self, dataset_info: Any, source: Any) -> list[Renderer]:
        """The aligned arm's promptsource templates for a non-English held-out dataset (else [])."""
        if (self.directory is None or not self.directory.is_dir() or dataset_info.language == "en"
                or _meta_of(dataset_info) not in ALIGNED_METAS or not is_heldout(dataset_info.role)):
            return []
        labels = getattr(source, "label_names", None)
        found = promptsource.aligned_templates(dataset_info.family, len(labels) if labels else None, self.directory)
        return [dataclasses.replace(t, family=dataset_info.family, max_field_chars=MAX_FIELD_CHARS)
                for t in found if t.converter is not None]

    def templates(self, dataset_info: Any, original_task_only: bool) -> list[Renderer]:
        """The real promptsource templates of an English P3 dataset (taxonomy `promptsource` folders)."""
        folders = tuple(_attr(dataset_info, "promptsource", default=()))
        if not folders or dataset_info.language != "en":
            return []
        if self.directory is None or not self.directory.is_dir():
            if original_task_only:
                self.missing.append(dataset_info.name)
            return []
        templates: list[Renderer] = []
        for folder in folders:
            ps_dataset, _, ps_subset = str(folder).partition("/")
            try:
                found = promptsource.load_promptsource_templates(
                    ps_dataset, ps_subset or None, self.directory, original_task_only=original_task_only)
            except FileNotFoundError:
                if original_task_only:
                    self.missing.append(f"{dataset_info.name} ({folder})")
                continue
            # a template renders our canonical rows only through a canonical -> HF converter;
            # it cuts the family's long fields as xlit's own templates do
            templates += [dataclasses.replace(t, family=dataset_info.family, max_field_chars=MAX_FIELD_CHARS)
                          for t in found if t.converter is not None]
            if any(t.converter is None for t in found):
                self.unconverted.add(f"{dataset_info.name} ({folder})")
        return templates

    def log_missing(self) -> None:
        if self.unconverted:
            log.warning("promptsource templates left out, no canonical -> HF converter in "
                        "promptsource.HF_CONVERTERS: %s", ", ".join(sorted(self.unconverted)))
        if self.missing:
            where = self.directory or "no data directory"
            log.info("no promptsource templates under %s for %d English datasets (%s%s); their tasks use "
                     "xlit's templates only", where, len(self.missing), ", ".join(self.missing[:5]),
                     ", ..." if len(self.missing) > 5 else "")


def _template_sets(family: str, dataset: str) -> list[tuple[str, str]]:
    """(language, style) pairs that have at least one template for the family."""
    return sorted({(t.language, t.style) for t in templating.get_templates(family=family, dataset=dataset)})


def _info(dataset_info: Any, renderer_set: Sequence[Renderer], *, name: str, kind: str, splits: tuple[str, ...],
          language: str, style: str, template_id: str | None, eval_split: str | None,
          template_ids: tuple[str, ...] = ()) -> TaskInfo:
    family, meta = dataset_info.family, _meta_of(dataset_info)
    origin = renderer_set[0].origin
    setting = naming.setting(dataset_info.language, language, style, NATIVE_STYLE)
    category = naming.template_category(
        dataset_info.language, language, style, NATIVE_STYLE, origin=origin,
        promptsource_native=bool(_attr(dataset_info, "promptsource", default=())) and dataset_info.language == "en")
    scorings = {_scoring_and_metrics(family, r) for r in renderer_set}
    scoring, metrics = sorted(scorings)[0] if len(scorings) == 1 else ("generation", ("exact_match",))
    return TaskInfo(
        name=name, dataset=dataset_info.name, cluster=dataset_info.cluster, role=dataset_info.role,
        data_language=dataset_info.language, template_language=language, template_style=style,
        template_id=template_id, setting=setting, scoring=scoring, metrics=metrics, kind=kind, meta=meta,
        family=family, splits=splits, eval_split=eval_split, template_ids=template_ids, origin=origin,
        template_category=category if kind == "eval" else setting)


def eval_split_of(source: Any, meta: str) -> str | None:
    """The split a dataset is evaluated on: the meta-dataset's preferred labelled split other than train, else None."""
    unlabelled = set(getattr(source, "unlabelled_splits", ()) or ())
    labelled = [split for split in source.splits if split not in unlabelled]
    return _pick_split(labelled, EVAL_SPLIT_PREFERENCE.get(meta, EVAL_SPLIT_PREFERENCE["p3"]), fallback=False)


def _eval_specs(dataset_info: Any, source: Any, promptsource_folders: _PromptsourceFolders) -> list[TaskSpec]:
    splits = tuple(source.splits)
    eval_split = eval_split_of(source, _meta_of(dataset_info))
    if eval_split is None:
        return []   # no labelled split besides train: the dataset trains only
    renderers = (_templates_for(dataset_info.family, dataset_info.name, original_task=True)
                 + promptsource_folders.templates(dataset_info, original_task_only=True)
                 + promptsource_folders.aligned(dataset_info, source))
    specs = []
    for renderer in renderers:
        name = naming.eval_task_name(dataset_info.name, renderer.language, renderer.style, renderer.template_id)
        info = _info(dataset_info, [renderer], name=name, kind="eval", splits=splits, language=renderer.language,
                     style=renderer.style, template_id=renderer.template_id, eval_split=eval_split)
        specs.append(TaskSpec(info=info, source=source, renderers=(renderer,)))
    return specs


def _train_specs(dataset_info: Any, source: Any, promptsource_folders: _PromptsourceFolders) -> list[TaskSpec]:
    """`{dataset}.train` over the native templates, `{dataset}.train.{lang}_{style}` over each other set.

    Native templates of an English P3 dataset follow T0: T0 trained every training dataset
    on all of its promptsource templates (one seqio task per template, original-task or not,
    less a short blacklist of broken or over-long ones that xlit does not copy; only the
    evaluation and the "all original-task prompts" ablation used the original-task subset),
    so `{dataset}.train` renders every
    promptsource template of the dataset when the data directory has them, and xlit's own
    English P3-style YAML templates only when it has none. Other datasets (and the other
    template sets) use xlit's YAML templates.
    """
    language = dataset_info.language
    native = NATIVE_STYLE.get(language)
    promptsource_templates = promptsource_folders.templates(dataset_info, original_task_only=False)
    template_sets = set(_template_sets(dataset_info.family, dataset_info.name))
    if promptsource_templates:
        template_sets.add((language, native))
    specs = []
    for template_language, style in sorted(template_sets):
        is_native = template_language == language and style == native
        if is_native and promptsource_templates:
            renderers = list(promptsource_templates)
        else:
            renderers = _templates_for(dataset_info.family, dataset_info.name, language=template_language, style=style)
        if not renderers:
            continue
        name = (naming.train_task_name(dataset_info.name) if is_native
                else naming.train_task_name(dataset_info.name, template_language, style))
        info = _info(dataset_info, renderers, name=name, kind="train", splits=tuple(source.splits),
                     language=template_language, style=style, template_id=None, eval_split=None,
                     template_ids=tuple(r.template_id for r in renderers))
        specs.append(TaskSpec(info=info, source=source, renderers=tuple(renderers)))
    return specs


def _unknown_dump_datasets(present: dict[str, str], dataset_infos: Sequence[Any],
                           root: Path | None) -> list[tuple[Any, str]]:
    """(taxonomy entry, folder) for each dump dataset folder that the taxonomy does not know (with a warning).

    Each registers under its folder name (sanitized; suffixed `_korani` if another
    meta-dataset has the name) as a KORANI training dataset of its cluster folder, NLG when
    every taxonomy dataset of that cluster is NLG, else NLU.
    """
    from seqio_tasks import taxonomy

    korani = {i.name for i in dataset_infos if _meta_of(i) == "korani"}
    taken = {i.name for i in dataset_infos} - korani
    unknown = sorted(set(present) - korani)
    if not unknown:
        return []
    log.warning("KORANI dump %s: dataset folders not in the taxonomy, registered under their folder names as "
                "KORANI training datasets: %s", root, ", ".join(f"{present[f]}/{f}" for f in unknown))
    infos = []
    for folder in unknown:   # (entry, folder): the entry's name may differ from the folder's
        name = naming.sanitize(folder)
        name = f"{name}_korani" if name in taken else name
        cluster = present[folder]
        kinds = {i.kind for i in dataset_infos if _meta_of(i) == "korani" and i.cluster == cluster}
        infos.append((taxonomy.DatasetInfo(
            name=name, meta="korani", language="ko", cluster=cluster, kind="nlg" if kinds == {"nlg"} else "nlu",
            role="train", licence="unknown (not in the taxonomy)", public=False, family=None, source=None,
            origin=f"KORANI dump folder {cluster}/{folder}"), folder))
    return infos


def _dump_specs(dataset_infos: Sequence[Any], raw_sources: set[str], korani_dir: Path | None) -> list[TaskSpec]:
    """Tasks over the KORANI authors' pre-rendered dump (the KORANI dump directory).

    Which datasets: every KORANI dataset of the taxonomy marked `in_dump` (registered even
    without the dump; its data is present when the dump is), and every dataset folder
    present in the dump: a taxonomy dataset marked `in_dump: false` (similar_corpus) whose
    folder is there after all, and a folder the taxonomy does not know (registered under its
    folder name, with a warning naming it). Training: `{dataset}.train` for every KORANI
    training dataset without a raw source. Evaluation: `{dataset}.ko_korani.dump{k}` for
    every `test_tmp{k}.csv` found in the dump (only when the dump is present, since the
    template numbers come from its files).
    """
    from seqio_tasks import sources
    from seqio_tasks.sources import korani_dump

    root = korani_dump.dump_root(korani_dir) if korani_dir is not None else None
    present = korani_dump.dump_folders(korani_dir) if korani_dir is not None else {}
    unknown = _unknown_dump_datasets(present, dataset_infos, root)
    folder_of = {info.name: folder for info, folder in unknown}
    specs = []
    for dataset_info in list(dataset_infos) + [info for info, _ in unknown]:
        if _meta_of(dataset_info) != "korani":
            continue
        if _attr(dataset_info, "in_dump", default=True) is False and dataset_info.name not in present:
            continue
        if dataset_info.name in folder_of:
            source = korani_dump.KoraniDumpSource(folder_of[dataset_info.name], dataset_info.cluster)
        else:
            try:
                source = sources.get_source(f"korani_dump_{dataset_info.name}")
            except KeyError:
                continue
        ranks = str(_attr(dataset_info, "kind", default="nlu")) != "nlg"
        common = dict(kind=None, splits=tuple(source.splits), language="ko", style="korani")
        if is_train(dataset_info.role) and dataset_info.name not in raw_sources:
            prompts = PrerenderedPrompts(None, ranks=ranks)
            info = _info(dataset_info, [prompts], name=naming.train_task_name(dataset_info.name), template_id=None,
                         eval_split=None, **{**common, "kind": "train"})
            specs.append(TaskSpec(info=info, source=source, renderers=(prompts,)))
        if root is None or not root.is_dir():
            continue
        try:
            files = source.files("test", korani_dir)
        except (KeyError, FileNotFoundError, ValueError):
            continue
        for k in sorted({korani_dump.template_index_of(f) for f in files} - {None}):
            prompts = PrerenderedPrompts(k, ranks=ranks)
            info = _info(dataset_info, [prompts],
                         name=naming.eval_task_name(dataset_info.name, "ko", "korani", prompts.template_id),
                         template_id=prompts.template_id, eval_split="test", **{**common, "kind": "eval"})
            specs.append(TaskSpec(info=info, source=source.for_template(k), renderers=(prompts,)))
    return specs


def builtin_specs(data_dir: Path | None = None, korani_dir: Path | None = None) -> list[TaskSpec]:
    """Every task of the taxonomy's datasets with a source, and of the KORANI dump; reads no data rows.

    data_dir: where promptsource's templates are (`{data_dir}/promptsource_templates`);
    korani_dir: the KORANI dump, whose files name the dump's evaluation templates.
    """
    from seqio_tasks import sources, taxonomy

    specs: list[TaskSpec] = []
    dataset_infos = list(taxonomy.all_datasets())
    raw_sources = set()
    promptsource_folders = _PromptsourceFolders(data_dir)
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
        specs += _eval_specs(dataset_info, source, promptsource_folders)
        if is_train(dataset_info.role):
            specs += _train_specs(dataset_info, source, promptsource_folders)
    specs += _dump_specs(dataset_infos, raw_sources, korani_dir)
    promptsource_folders.log_missing()
    return specs


# ------------------------------------------------ the default catalog's tasks, data and rows


def all_specs(catalog: TaskCatalog = CATALOG) -> list[TaskSpec]:
    """Every task spec of the catalog, sorted by name."""
    return catalog.specs()


def get_spec(name: str, catalog: TaskCatalog = CATALOG) -> TaskSpec:
    """The spec of one task; KeyError names close task names (for any string, well-formed or not)."""
    return catalog.get(name)


def task_info(name: str, catalog: TaskCatalog = CATALOG) -> TaskInfo:
    """The metadata of one task (TF-free)."""
    return catalog.get(name).info


def has_data(spec: TaskSpec, split: str | None = None, catalog: TaskCatalog = CATALOG) -> bool:
    """Whether the files behind a task's split (default: its eval split, or 'train' for training) exist."""
    return catalog.has_data(spec, split)


def train_split(spec: TaskSpec) -> str | None:
    """The split a training task trains on ('train' when the source has it)."""
    return _pick_split(spec.info.splits, TRAIN_SPLIT_PREFERENCE, fallback=False)


def source_rows(spec: TaskSpec, split: str, catalog: TaskCatalog = CATALOG) -> tuple[dict, ...]:
    """The rows of a task's source split (read once per catalog, source and split)."""
    return catalog.rows(spec, split)


def num_examples(name: str, split: str | None = None, catalog: TaskCatalog = CATALOG) -> int | None:
    """Input rows of a task's split (default: eval split, or train split), or None without data.

    Counts source rows before rendering (seqio's `num_input_examples`), so counting never
    renders templates; rows a template does not apply to are still counted.
    """
    return catalog.num_examples(name, split)


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


def rendered_examples(spec: TaskSpec, split: str | None = None, max_examples: int | None = None,
                      catalog: TaskCatalog = CATALOG) -> list[dict]:
    """Rows {idx, inputs, targets, options, answer_index} of a task split, rendered by its renderers.

    Evaluation tasks render every row with their one renderer. Training tasks give row i
    renderer i mod n (in a fixed order), so each template sees a fair share; when that
    renderer does not apply to the row (its render is None or empty: a promptsource template
    that reads a field the row lacks, such as WikiQA train's missing document titles, or one
    that renders only positive pairs), the row goes to the next renderer in order that
    applies. A row no renderer applies to (an unlabelled row, an evaluation template that
    does not apply) is left out and counted in a log line.
    """
    return list(itertools.islice(iter_rendered_examples(spec, split, catalog), max_examples))


def iter_rendered_examples(spec: TaskSpec, split: str | None = None, catalog: TaskCatalog = CATALOG) -> Iterator[dict]:
    """`rendered_examples`, one row at a time (rendering lazily)."""
    info = spec.info
    split = split or spec.default_split
    if split is None:
        raise ValueError(f"task {spec.name} has no split to read")
    if info.splits and split not in info.splits:
        raise ValueError(f"task {spec.name} has no split {split!r}; it has {list(info.splits)}")
    rows = catalog.rows(spec, split)
    renderers = spec.renderers
    skipped = 0
    for position, row in enumerate(rows):
        idx = row.get("idx", position)
        for offset in range(len(renderers)):
            renderer = renderers[(position + offset) % len(renderers)]
            try:
                rendered = renderer.render(row)
            except Exception as error:  # name the task, template and row, then re-raise
                raise ValueError(f"task {spec.name}: template {renderer.template_id!r} failed on "
                                 f"{split} row idx={idx}: {error}") from error
            if rendered is not None and str(rendered.inputs).strip() and str(rendered.targets).strip():
                yield _rendered_row(rendered, idx)
                break
        else:
            skipped += 1
    if skipped:
        log.info("task %s split %s: %d of %d rows left out (template does not apply)",
                 spec.name, split, skipped, len(rows))
