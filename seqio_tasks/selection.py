"""Instruction-based task selection (INSTA-style): rank training datasets by how close their instructions are
to a target task's, from the instruction text alone, and keep the top k.

    selection = select("kobest_copa", candidates="korani", top_k=3)          # lexical embeddings
    selection.selected                 -> ['...', '...', '...']
    print(selection.format_table())

Instructions. A dataset's instructions under a template set (`{language}_{style}`, e.g.
`ko_korani`, `en_p3`) are the templates its tasks render with: a training dataset's
training task of that set, a held-out dataset's evaluation tasks of that set (for an
English P3 dataset: promptsource's templates when the data directory has them). A dataset
whose tasks use only the KORANI dump's pre-rendered prompts (or that has no source here)
falls back to the YAML templates of its family in that set (`instructions_from` says
which). Each template is rendered on a *placeholder example* of the family (every text
field `___`, label 0), so the text is the instruction without any example; with
`num_examples=N` it is rendered on the first N real rows instead (joined), which needs the
data. The answer choices are part of a template (its verbalizers), so they follow the
rendered input on their own line when they are words (not the example's own fields).

Comparing. All texts (target and candidates) are embedded together, by
`xlit_jax.embeddings.lexical_embeddings` (character n-gram TF-IDF, the default) or a
given embedder (`encoder_embedder`: the mT5 encoder of a checkpoint, mean-pooled).
A candidate's score aggregates the [target templates x candidate templates] cosine
similarities: `max_mean` (default) is the mean over the target's templates of the best
match among the candidate's templates; `mean` is the cosine of the two sets' centroids.
max_mean keeps a candidate whose templates cover the target's instructions from being
diluted by its other templates (T0's training datasets carry up to ~20 promptsource
templates, several of them not the original task). Ties are broken by dataset name.

Language sides and the aligned variant. Candidates are the training datasets of a
meta-dataset or language (`korani`/`ko`, `p3`/`en`), by default the target's own side.
Without `aligned`, every candidate is read in its native template set (Korean datasets in
KORANI-style Korean, English ones in P3-style English) and the target in its own; with
`aligned`, every candidate is read in the target's template set (Korean datasets in their
English P3-style templates for an English P3 target), and candidates that have no
templates in that set are left out. Lexical embeddings compare characters, so across
template languages only the aligned variant (or an encoder embedder) is meaningful.
"""
from __future__ import annotations

import dataclasses
import logging
from typing import Any, Callable, Mapping, Sequence

import gin
import numpy as np

from seqio_tasks import naming, taxonomy, templating
from seqio_tasks.catalog import CATALOG, DATA_DIR_SETTING, TaskCatalog, close_names
from seqio_tasks.sources.schema import FAMILY_FIELDS
from seqio_tasks.task_specs import NATIVE_STYLE
from xlit_jax import embeddings

log = logging.getLogger(__name__)

PLACEHOLDER = "___"
AGGREGATES = ("max_mean", "mean")
LIST_LENGTHS = {"endings": 4, "sentences": 4, "choices": 4, "concepts": 3}
# Values some families constrain (a template branches on them): the first allowed value.
FIXED_VALUES = {"copa": {"question": "cause"}, "translation": {"source_lang": "ko", "target_lang": "en"},
                "extractive_qa": {"answer_start": [0], "id": "0"}, "sts": {"score": 2.5}}
Embedder = Callable[[Sequence[str]], np.ndarray]


class SelectionError(ValueError):
    """A selection cannot be made (unknown target, no instructions, no candidates); one line that says why."""


@dataclasses.dataclass(frozen=True)
class Instructions:
    """The instruction texts of one dataset under one template set, and where they came from."""

    dataset: str
    template_set: str
    texts: tuple[str, ...]
    template_ids: tuple[str, ...]
    origin: str           # e.g. "task kobest_copa.ko_korani.*", "family sentiment templates"


@dataclasses.dataclass(frozen=True)
class RankedDataset:
    """One candidate's place in a ranking."""

    rank: int
    dataset: str
    cluster: str
    language: str
    meta: str
    score: float
    template_set: str
    num_instructions: int
    instructions_from: str
    has_data: bool
    selected: bool

    def to_dict(self) -> dict:
        """A JSON-ready dict of the fields."""
        return dataclasses.asdict(self)


@dataclasses.dataclass
class Selection:
    """A ranking of candidate training datasets for a target, and its top k."""

    target: str
    target_dataset: str
    target_cluster: str
    target_template_set: str
    target_instructions: int
    candidates: str
    aligned: bool
    embedder: str
    aggregate: str
    num_examples: int
    top_k: int
    ranking: list[RankedDataset]
    skipped: dict[str, str]

    @property
    def selected(self) -> list[str]:
        """The top-k dataset names, best first."""
        return [row.dataset for row in self.ranking if row.selected]

    def to_dict(self) -> dict:
        """A JSON-ready dict: settings, `selected`, `ranking` rows and `skipped` datasets with the reason."""
        out = {field.name: getattr(self, field.name) for field in dataclasses.fields(self)}
        out["ranking"] = [row.to_dict() for row in self.ranking]
        out["selected"] = self.selected
        return out

    def format_table(self) -> str:
        """The ranking as a text table (rank, dataset, cluster, language, score, ...), top k marked with *."""
        header = ("rank", "dataset", "cluster", "language", "score", "template_set", "instructions", "data")
        cells = [(f"{r.rank}{'*' if r.selected else ''}", r.dataset, r.cluster, r.language, f"{r.score:.4f}",
                  r.template_set, str(r.num_instructions), "yes" if r.has_data else "no") for r in self.ranking]
        widths = [max(len(h), *(len(c[k]) for c in cells)) if cells else len(h) for k, h in enumerate(header)]
        lines = ["  ".join(h.ljust(widths[k]) for k, h in enumerate(header)).rstrip(),
                 "  ".join("-" * w for w in widths)]
        lines += ["  ".join(c.ljust(widths[k]) for k, c in enumerate(row)).rstrip() for row in cells]
        return "\n".join(lines)


# ------------------------------------------------------------------------------ instruction texts


def placeholder_example(family: str) -> dict:
    """A canonical example of `family` whose text fields are all PLACEHOLDER (label 0): renders a template's instruction."""
    if family not in FAMILY_FIELDS:
        raise SelectionError(f"no example schema for family {family!r} (known: {sorted(FAMILY_FIELDS)})")
    example: dict[str, Any] = {"idx": 0}
    for field, kind in FAMILY_FIELDS[family].items():
        if kind is str:
            example[field] = PLACEHOLDER
        elif kind is list:
            example[field] = [PLACEHOLDER] * LIST_LENGTHS.get(field, 1)
        elif kind is float:
            example[field] = 0.0
        else:
            example[field] = 0
    example.update(FIXED_VALUES.get(family, {}))
    return example


def instruction_text(rendered: Any) -> str:
    """A rendered example's input, plus its answer choices on a line of their own when they are words."""
    text = str(rendered.inputs).strip()
    options = [str(o).strip() for o in (rendered.options or [])]
    if any(o and PLACEHOLDER not in o for o in options):
        text += "\n" + " | ".join(options)
    return text


def parse_template_set(template_set: str) -> tuple[str, str]:
    """('ko', 'korani') from 'ko_korani'; SelectionError for anything else."""
    language, _, style = str(template_set).partition("_")
    try:
        naming.template_set(language, style)
    except ValueError as error:
        raise SelectionError(f"template set {template_set!r} is not {{language}}_{{style}} (e.g. ko_korani, en_p3)") \
            from error
    return language, style


def native_template_set(info: taxonomy.DatasetInfo) -> str:
    """The template set a dataset is natively written in: `ko_korani` for Korean data, `en_p3` for English
    (and for data in a language without templates of its own)."""
    if info.language not in NATIVE_STYLE:
        return naming.template_set("en", NATIVE_STYLE["en"])
    return naming.template_set(info.language, NATIVE_STYLE[info.language])


def _task_renderers(dataset: str, template_set: str, catalog: TaskCatalog) -> tuple[str, list[tuple[Any, Any]]]:
    """(origin, [(spec, renderer)]) of a dataset's tasks in a template set: its training task, else its eval tasks."""
    if not catalog.loaded:
        return "", []
    language, style = parse_template_set(template_set)
    specs = [s for s in catalog.specs() if s.info.dataset == dataset and s.info.template_language == language
             and s.info.template_style == style]
    train = [s for s in specs if s.info.kind == "train"]
    chosen = train or [s for s in specs if s.info.kind == "eval"]
    if not chosen:
        return "", []
    origin = f"task {chosen[0].name}" if train else f"tasks {dataset}.{template_set}.*"
    pairs, seen = [], set()
    for spec in chosen:
        for renderer in spec.renderers:
            if renderer.template_id not in seen:
                seen.add(renderer.template_id)
                pairs.append((spec, renderer))
    return origin, pairs


def _render_placeholder(renderer: Any, example: dict) -> str | None:
    label_words = getattr(renderer, "label_words", None)
    if label_words and not getattr(renderer, "label_names", None):
        # a dataset whose label names are unknown here (no source): every label word of the template
        example = {**example, "label_names": list(label_words)}
    rendered = None
    # label 0 first; then unlabelled (label None), for a template whose target reads a field beyond the
    # family's schema (its input is still an instruction)
    for label in (0, None):
        try:
            rendered = renderer.render({**example, "label": label} if "label" in example else example)
            break
        except Exception:  # noqa: BLE001 - a renderer that cannot render a placeholder has no instruction to show
            continue
    if rendered is None or not str(rendered.inputs).strip():
        return None
    return instruction_text(rendered)


def _render_rows(renderer: Any, rows: Sequence[Mapping], num_examples: int) -> str | None:
    texts = []
    for row in rows:
        try:
            rendered = renderer.render(row)
        except Exception:  # noqa: BLE001 - a row the template does not apply to
            continue
        if rendered is not None and str(rendered.inputs).strip():
            texts.append(instruction_text(rendered))
            if len(texts) == num_examples:
                break
    return "\n\n".join(texts) if texts else None


def instructions(dataset: str, template_set: str, *, num_examples: int = 0, template_ids: Sequence[str] | None = None,
                 catalog: TaskCatalog = CATALOG) -> Instructions:
    """The instruction texts of a dataset under a template set (see the module docstring); empty texts when none.

    template_ids: keep only these templates (a target given as one task).
    """
    info = taxonomy.get(dataset)
    origin, pairs = _task_renderers(dataset, template_set, catalog)
    if template_ids is not None:
        pairs = [(s, r) for s, r in pairs if r.template_id in set(template_ids)]
    texts: list[tuple[str, str]] = []
    if num_examples > 0:
        for spec, renderer in pairs:
            split = spec.default_split
            if split is None or not catalog.has_data(spec, split):
                continue
            text = _render_rows(renderer, catalog.rows(spec, split)[:max(num_examples * 20, 50)], num_examples)
            if text:
                texts.append((renderer.template_id, text))
        origin = f"{origin}, {num_examples} rows"
    elif info.family is not None:
        example = placeholder_example(info.family)
        texts = [(r.template_id, t) for _, r in pairs if (t := _render_placeholder(r, example))]
        if not texts and template_ids is None:
            language, style = parse_template_set(template_set)
            family_templates = templating.get_templates(family=info.family, language=language, style=style,
                                                        dataset=dataset)
            texts = [(t.template_id, text) for t in family_templates if (text := _render_placeholder(t, example))]
            origin = f"family {info.family} templates"
    return Instructions(dataset=dataset, template_set=template_set, texts=tuple(t for _, t in texts),
                        template_ids=tuple(i for i, _ in texts), origin=origin if texts else "")


# ------------------------------------------------------------------------------ targets and candidates


@dataclasses.dataclass(frozen=True)
class Target:
    """What a target names: a dataset (all its templates of a set) or one task (its own templates)."""

    name: str
    dataset: taxonomy.DatasetInfo
    template_set: str
    template_ids: tuple[str, ...] | None = None


def resolve_target(target: str, template_set: str | None = None, catalog: TaskCatalog = CATALOG) -> Target:
    """A dataset name or a task name (`kobest_copa.ko_korani.ko_korani_01`, `kobest_boolq.train`) as a Target."""
    names = [i.name for i in taxonomy.all_datasets()]
    if target in names:
        info = taxonomy.get(target)
        return Target(target, info, template_set or native_template_set(info))
    if catalog.loaded and target in catalog:
        spec = catalog.get(target)
        info = taxonomy.get(spec.info.dataset)
        task_set = naming.template_set(spec.info.template_language, spec.info.template_style)
        if template_set is not None and template_set != task_set:
            raise SelectionError(f"target task {target} is in template set {task_set}, not {template_set}")
        return Target(target, info, task_set, tuple(r.template_id for r in spec.renderers))
    pool = names + (catalog.names() if catalog.loaded else [])
    close = close_names(target, pool)
    raise SelectionError(f"unknown target {target!r}: neither a dataset of the taxonomy nor a registered task"
                         + (f"; did you mean: {', '.join(close)}" if close else ""))


def candidate_pool(candidates: str) -> list[taxonomy.DatasetInfo]:
    """The training datasets of a meta-dataset ('korani', 'p3', 'demo') or of a data language ('ko', 'en').

    A language names the training datasets of every meta-dataset but the packaged demo corpus.
    """
    infos = taxonomy.all_datasets()
    if candidates in {i.meta for i in infos}:
        return [i for i in infos if i.meta == candidates and i.role == "train"]
    pool = [i for i in infos if i.language == candidates and i.meta != "demo" and i.role == "train"]
    if not pool:
        raise SelectionError(f"candidates {candidates!r}: not a meta-dataset {sorted({i.meta for i in infos})} nor "
                             f"a language with training datasets {sorted({i.language for i in infos if i.role == 'train'})}")
    return pool


def has_training_data(dataset: str, catalog: TaskCatalog = CATALOG) -> bool:
    """Whether the catalog has a training task of the dataset whose train split has data."""
    if not catalog.loaded:
        return False
    name = naming.train_task_name(dataset)
    if name not in catalog:
        return False
    spec = catalog.get(name)
    split = spec.default_split
    return split is not None and catalog.has_data(spec, split)


# ------------------------------------------------------------------------------ ranking


def aggregate_scores(similarity: np.ndarray, aggregate: str, target_vectors: np.ndarray | None = None,
                     candidate_vectors: np.ndarray | None = None) -> float:
    """One score from a [target x candidate] cosine matrix: max_mean, or (given the vectors) centroid cosine."""
    if aggregate == "max_mean":
        return float(np.mean(np.max(similarity, axis=1)))
    if aggregate == "mean":
        centroids = embeddings.l2_normalize(np.stack([target_vectors.mean(axis=0), candidate_vectors.mean(axis=0)]))
        return float(centroids[0] @ centroids[1])
    raise SelectionError(f"aggregate {aggregate!r} is not one of {AGGREGATES}")


def rank_texts(target_texts: Sequence[str], candidate_texts: Mapping[str, Sequence[str]],
               embed: Embedder = embeddings.lexical_embeddings, aggregate: str = "max_mean") -> list[tuple[str, float]]:
    """(candidate, score) best first, ties by name: every text embedded in one call, scores aggregated per candidate."""
    if aggregate not in AGGREGATES:
        raise SelectionError(f"aggregate {aggregate!r} is not one of {AGGREGATES}")
    if not target_texts:
        raise SelectionError("the target has no instruction texts")
    names = [name for name in candidate_texts if candidate_texts[name]]
    texts = list(target_texts) + [text for name in names for text in candidate_texts[name]]
    vectors = np.asarray(embed(texts), dtype=np.float32)
    target_vectors = vectors[:len(target_texts)]
    scores, start = [], len(target_texts)
    for name in names:
        count = len(candidate_texts[name])
        candidate_vectors = vectors[start:start + count]
        start += count
        similarity = target_vectors @ candidate_vectors.T
        scores.append((name, round(aggregate_scores(similarity, aggregate, target_vectors, candidate_vectors), 6)))
    return sorted(scores, key=lambda item: (-item[1], item[0]))


def select(target: str, *, candidates: str | None = None, top_k: int = 5, template_set: str | None = None,
           aligned: bool = False, num_examples: int = 0, aggregate: str = "max_mean", embed: Embedder | None = None,
           embedder_name: str | None = None, require_data: bool = False, catalog: TaskCatalog = CATALOG) -> Selection:
    """Ranks the candidate training datasets for a target (a dataset or task name) and marks the top k.

    candidates: meta-dataset or language of the candidates (default: the target's meta-dataset);
    template_set: the target's (default: a task's own, a dataset's native one);
    aligned: read candidates in the target's template set instead of their native ones;
    require_data: rank only candidates whose training data is present (what a mixture can train on).
    The target dataset itself is never a candidate.
    """
    if top_k < 1:
        raise SelectionError(f"top_k must be at least 1, got {top_k}")
    if num_examples < 0:
        raise SelectionError(f"num_examples must be 0 (instructions only) or more, got {num_examples}")
    resolved = resolve_target(target, template_set, catalog)
    target_instructions = instructions(resolved.dataset.name, resolved.template_set, num_examples=num_examples,
                                       template_ids=resolved.template_ids, catalog=catalog)
    if not target_instructions.texts:
        reason = ("its data is not present here" if num_examples else
                  "no templates of its family in that set (KORANI dump prompts only?)")
        raise SelectionError(f"target {target}: no instructions under template set {resolved.template_set} ({reason})")
    pool_name = candidates or resolved.dataset.meta
    pool = [info for info in candidate_pool(pool_name) if info.name != resolved.dataset.name]
    if not pool:
        raise SelectionError(f"{pool_name!r} has no training datasets besides the target; choose candidates "
                             "(e.g. korani, p3, ko, en)")
    candidate_texts: dict[str, Instructions] = {}
    skipped: dict[str, str] = {}
    for info in pool:
        has_data = has_training_data(info.name, catalog)
        if require_data and not has_data:
            skipped[info.name] = "no training data here"
            continue
        candidate_set = resolved.template_set if aligned else native_template_set(info)
        found = instructions(info.name, candidate_set, num_examples=num_examples, catalog=catalog)
        if not found.texts:
            skipped[info.name] = (f"no data for examples under {candidate_set}" if num_examples else
                                  f"no templates under {candidate_set}"
                                  + ("" if info.family else " (no family: KORANI dump prompts only)"))
            continue
        candidate_texts[info.name] = found
    if not candidate_texts and require_data and all(r == "no training data here" for r in skipped.values()):
        raise SelectionError(f"none of the {len(skipped)} training datasets of {pool_name!r} has its training data "
                             f"here (set {DATA_DIR_SETTING})")
    if not candidate_texts:
        raise SelectionError(f"no candidate datasets of {pool_name!r} have instructions to compare"
                             + (f" ({len(skipped)} skipped, e.g. {next(iter(skipped))}: {next(iter(skipped.values()))})"
                                if skipped else ""))
    target_language = parse_template_set(resolved.template_set)[0]
    if embed is None:
        embed = embeddings.lexical_embeddings
        embedder_name = embedder_name or "lexical (character 2-4-gram TF-IDF)"
        other = {parse_template_set(c.template_set)[0] for c in candidate_texts.values()} - {target_language}
        if other:
            log.warning("lexical embeddings compare characters: target instructions in %s, candidates' in %s; "
                        "use aligned=True (--aligned) or an encoder (--checkpoint) across languages",
                        target_language, ", ".join(sorted(other)))
    ranked = rank_texts(target_instructions.texts, {n: c.texts for n, c in candidate_texts.items()}, embed, aggregate)
    rows = []
    for position, (name, score) in enumerate(ranked, start=1):
        info, found = taxonomy.get(name), candidate_texts[name]
        rows.append(RankedDataset(rank=position, dataset=name, cluster=info.cluster, language=info.language,
                                  meta=info.meta, score=score, template_set=found.template_set,
                                  num_instructions=len(found.texts), instructions_from=found.origin,
                                  has_data=has_training_data(name, catalog), selected=position <= top_k))
    return Selection(target=target, target_dataset=resolved.dataset.name, target_cluster=resolved.dataset.cluster,
                     target_template_set=resolved.template_set, target_instructions=len(target_instructions.texts),
                     candidates=pool_name, aligned=aligned, embedder=embedder_name or getattr(embed, "__name__", "custom"),
                     aggregate=aggregate, num_examples=num_examples, top_k=top_k, ranking=rows, skipped=skipped)


def encoder_embedder(checkpoint_path: str, vocabulary_path: str | None = None, *, batch_size: int = 32,
                     max_length: int = 512) -> tuple[Embedder, str]:
    """(embed, description): the mean-pooled encoder of a checkpoint (any format load_params reads).

    Vocabulary: `vocabulary_path`, else the checkpoint's spiece.model, else $XLIT_VOCAB / gin's.
    """
    from seqio_tasks import vocab

    embed, description = embeddings.checkpoint_embedder(checkpoint_path, vocabulary_path,
                                                        fallback_vocabulary_path=vocab.vocabulary_path(),
                                                        batch_size=batch_size, max_length=max_length)
    return embed, description


@gin.configurable(module="xlit")
def selected_datasets(target: str = gin.REQUIRED, top_k: int = 5, candidates: str | None = None,
                      template_set: str | None = None, aligned: bool = False, num_examples: int = 0,
                      aggregate: str = "max_mean", checkpoint_path: str | None = None,
                      vocabulary_path: str | None = None, require_data: bool = True) -> list[str]:
    """The top-k training datasets for `target` by instruction similarity (a `datasets` list for xlit.subset_mixture).

    Reads the task catalog as `xlit train` filled it (call after registration); by default
    only candidates whose training data is present, so the mixture can train on all of them.
    """
    if not target:
        raise SelectionError("xlit.selected_datasets: no target; bind xlit.selected_datasets.target "
                             "(SELECTION_TARGET in gin/experiments/korani_subset.gin) to a dataset or task name")
    embed, name = (encoder_embedder(checkpoint_path, vocabulary_path) if checkpoint_path else (None, None))
    selection = select(target, candidates=candidates, top_k=top_k, template_set=template_set, aligned=aligned,
                       num_examples=num_examples, aggregate=aggregate, embed=embed, embedder_name=name,
                       require_data=require_data)
    log.warning("instruction-based selection for %s (%s, %s): %s", target, selection.embedder,
                selection.target_template_set, ", ".join(f"{r.dataset} {r.score:.3f}" for r in selection.ranking
                                                         if r.selected))
    return selection.selected
