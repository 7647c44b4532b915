"""The real promptsource (P3 / T0) templates, read from their `templates.yaml` files and rendered here.

The promptsource package does not install on Python >= 3.10, so this module reads its data
files itself: each `templates/{dataset}[/{subset}]/templates.yaml` holds `!Template` objects
(name, id, jinja = "input ||| target", answer_choices = Jinja split on "|||", and a
`!TemplateMetadata` with original_task, choices_in_prompt, metrics, languages).

Promptsource templates expect Hugging Face `datasets` field names. Our sources yield the
family's canonical examples instead, so each held-out (and English training) dataset has a
converter from the canonical schema to its HF fields (`HF_CONVERTERS`); `render` applies it,
`render_hf` renders a row that already has HF fields.

T0 evaluates on the original-task templates only; `load_promptsource_templates` returns
those by default.
"""
from __future__ import annotations

import dataclasses
import functools
import json
import random
import re
import zlib
from pathlib import Path
from typing import Any, Callable, Mapping

import jinja2
import jinja2.meta
import yaml

from seqio_tasks import jinja_env, naming, templating
from seqio_tasks.templating import RenderedExample

PIPE = "|||"
TEMPLATE_ID_PREFIX = "ps_"   # task names mark promptsource templates: {dataset}.en_p3.ps_{name}
_PIPE_PLACEHOLDER = "\u241e\u241e\u241e"   # stands in for "|||" inside example values while rendering


class PromptsourceError(ValueError):
    """A promptsource file did not parse, or a template failed to render; names the file/template."""


def _compile(source: str) -> jinja2.Template:
    return jinja_env.compile_template(source)   # the one environment xlit's own templates use too


@functools.lru_cache(maxsize=None)
def _fields_read(jinja: str, answer_choices: str | None) -> frozenset[str]:
    """Undeclared variables of a template's parts, less the environment's globals and render-time names."""
    names: set[str] = set()
    for source in (jinja, answer_choices):
        if source is not None:
            try:
                names |= jinja2.meta.find_undeclared_variables(jinja_env.ENVIRONMENT.parse(source))
            except jinja2.TemplateSyntaxError:
                continue   # compile() reports it with the file and template name
    return frozenset(names - set(jinja_env.ENVIRONMENT.globals) - {"answer_choices", "_choice_rng"})


# ----------------------------------------------------------------------------- canonical -> HF fields


def _nli_rows(order: tuple[int, ...] | None = None) -> Callable[[Mapping], dict]:
    """premise/hypothesis/label; `order` maps our label (0 ent, 1 neutral, 2 contra) to the HF label."""

    def convert(example: Mapping) -> dict:
        label = int(example["label"])
        if order is not None and label >= 0:
            label = order[label]
        return {"premise": example["premise"], "hypothesis": example["hypothesis"], "label": label,
                "idx": example.get("idx", 0), "uid": str(example.get("uid", "")), "reason": ""}

    return convert


def _copa(example: Mapping) -> dict:
    return {key: example[key] for key in ("premise", "choice1", "choice2", "question", "label")} | {
        "idx": example.get("idx", 0)}


_SENTENCE_END = re.compile(r"^(.*[.!?][\"')\]]*)\s+(\S.*)$", re.S)


def split_hellaswag_context(context: str) -> tuple[str, str]:
    """(ctx_a, ctx_b): the full sentences, and the unfinished last one (HF HellaSwag's two parts)."""
    match = _SENTENCE_END.match(context.strip())
    if match is None or match.group(2).rstrip()[-1:] in ".!?":
        return context.strip(), ""
    return match.group(1), match.group(2)


def _hellaswag(example: Mapping) -> dict:
    ctx_a, ctx_b = example.get("ctx_a"), example.get("ctx_b")
    if ctx_a is None or ctx_b is None:
        ctx_a, ctx_b = split_hellaswag_context(example["context"])
    label = int(example["label"])
    return {"ctx": example["context"], "ctx_a": ctx_a, "ctx_b": ctx_b, "endings": list(example["endings"]),
            "label": "" if label < 0 else str(label), "activity_label": example.get("activity", ""),
            "ind": example.get("idx", 0), "source_id": "", "split": "", "split_type": ""}


def _winogrande(example: Mapping) -> dict:
    label = int(example["label"])
    return {"sentence": example["sentence"], "option1": example["option1"], "option2": example["option2"],
            "answer": "" if label < 0 else str(label + 1)}


def _story_cloze(example: Mapping) -> dict:
    sentences = list(example["sentences"])
    if len(sentences) != 4:
        raise PromptsourceError(f"story_cloze needs 4 story sentences, got {len(sentences)}")
    row = {f"input_sentence_{i + 1}": sentence for i, sentence in enumerate(sentences)}
    label = int(example["label"])
    return row | {"sentence_quiz1": example["ending1"], "sentence_quiz2": example["ending2"],
                  "answer_right_ending": -1 if label < 0 else label + 1, "story_id": example.get("story_id", "")}


def _wic(example: Mapping) -> dict:
    row = {key: example[key] for key in ("word", "sentence1", "sentence2", "label")}
    for key in ("start1", "end1", "start2", "end2"):
        row[key] = example.get(key, -1)
    return row | {"idx": example.get("idx", 0)}


def _word_index(text: str, span: str) -> int:
    words = [w.strip(".,;:!?\"'()").lower() for w in text.split(" ")]
    target = span.split(" ")[0].strip(".,;:!?\"'()").lower()
    if target not in words:
        raise PromptsourceError(f"cannot find {span!r} among the words of {text!r}")
    return words.index(target)


def _wsc(example: Mapping) -> dict:
    text = example["text"]
    span1_index = example.get("span1_index")
    span2_index = example.get("span2_index")
    return {"text": text, "span1_text": example["span1_text"], "span2_text": example["span2_text"],
            "span1_index": _word_index(text, example["span1_text"]) if span1_index is None else span1_index,
            "span2_index": _word_index(text, example["span2_text"]) if span2_index is None else span2_index,
            "label": example["label"], "idx": example.get("idx", 0)}


def _boolq(example: Mapping) -> dict:
    return {"question": example["question"], "passage": example["passage"], "label": example["label"],
            "idx": example.get("idx", 0)}


def _multirc(example: Mapping) -> dict:
    return {"paragraph": example["paragraph"], "question": example["question"], "answer": example["answer"],
            "label": example["label"],
            "idx": {"paragraph": example.get("paragraph_idx", 0), "question": example.get("question_idx", 0),
                    "answer": example.get("answer_idx", 0)}}


def _pawsx(example: Mapping) -> dict:
    return {"id": example.get("id", example.get("idx", 0)), "sentence1": example["sentence1"],
            "sentence2": example["sentence2"], "label": example["label"]}


def _financial_phrasebank(example: Mapping) -> dict:
    return {"sentence": example["text"], "label": example["label"]}


def _tydiqa_secondary(example: Mapping) -> dict:
    qid = str(example.get("id", ""))
    if not qid.startswith("english-"):
        qid = f"english-{qid}"   # the templates select English rows by this id prefix
    return {"id": qid, "title": example.get("title", ""), "context": example["context"],
            "question": example["question"],
            "answers": {"text": list(example["answers"]), "answer_start": list(example["answer_start"])}}


# T0's English training datasets (canonical examples of seqio_tasks.sources.p3_train).

_LETTERS = ("A", "B", "C", "D", "E")   # CommonsenseQA's answer keys


def _hf_commonsense_qa(example: Mapping) -> dict:
    label = int(example["label"])
    return {"id": example.get("id", ""), "question": example["question"],
            "question_concept": example.get("question_concept", ""),
            "choices": {"label": list(_LETTERS[:len(example["choices"])]), "text": list(example["choices"])},
            "answerKey": _LETTERS[label] if label >= 0 else ""}


def _hf_cos_e(example: Mapping) -> dict:
    label = int(example["label"])
    return {"id": example.get("id", ""), "question": example["question"], "choices": list(example["choices"]),
            "answer": example["choices"][label] if label >= 0 else "",
            "abstractive_explanation": example.get("abstractive_explanation", ""),
            "extractive_explanation": example.get("extractive_explanation", "")}


def _hf_social_i_qa(example: Mapping) -> dict:
    label = int(example["label"])
    answers = dict(zip(("answerA", "answerB", "answerC"), example["choices"]))
    return {"context": example["context"], "question": example["question"], **answers,
            "label": str(label + 1) if label >= 0 else ""}


def _hf_dream(example: Mapping) -> dict:
    label = int(example["label"])
    dialogue = list(example.get("dialogue") or example["context"].split("\n"))
    return {"dialogue_id": example.get("dialogue_id", ""), "dialogue": dialogue, "question": example["question"],
            "choice": list(example["choices"]), "answer": example["choices"][label] if label >= 0 else ""}


def _hf_cosmos_qa(example: Mapping) -> dict:
    answers = {f"answer{i}": choice for i, choice in enumerate(example["choices"])}
    return {"id": example.get("id", ""), "context": example["context"], "question": example["question"], **answers,
            "label": int(example["label"])}


def _hf_quail(example: Mapping) -> dict:
    return {"id": example.get("id", ""), "context_id": str(example.get("id", "")).partition("_")[0],
            "question_id": str(example.get("id", "")).rpartition("_")[2], "domain": example.get("domain", ""),
            "metadata": {"author": "", "title": example.get("title", ""), "url": ""},
            "context": example["context"], "question": example["question"],
            "question_type": example.get("question_type", ""), "answers": list(example["choices"]),
            "correct_answer_id": int(example["label"])}


def _hf_text_label(example: Mapping) -> dict:
    return {"text": example["text"], "label": int(example["label"])}


def _hf_trec(example: Mapping) -> dict:
    return {"text": example["text"], "coarse_label": int(example["label"]), "fine_label": int(example.get("fine_label", -1))}


def _hf_sentence_pair(example: Mapping) -> dict:
    return {"sentence1": example["sentence1"], "sentence2": example["sentence2"], "label": int(example["label"]),
            "idx": example.get("idx", 0), "id": example.get("idx", 0)}


def _hf_common_gen(example: Mapping) -> dict:
    return {"concept_set_idx": example.get("idx", 0), "concepts": list(example["concepts"]), "target": example["target"]}


def _hf_wiki_qa(example: Mapping) -> dict:
    row = {"question_id": example.get("question_id", ""), "question": example["question"],
           "answer": example["answer"], "label": int(example["label"])}
    if example.get("document_title"):   # WikiQASent-train has no titles: templates that need one do not apply
        row["document_title"] = example["document_title"]
    return row


# (promptsource dataset, subset) -> converter from our canonical example to its HF fields: the one table
# for every English dataset (held-out and training); the taxonomy's `promptsource:` folders say which
# (dataset, subset) each of our datasets has.
HF_CONVERTERS: dict[tuple[str, str | None], Callable[[Mapping], dict]] = {
    ("super_glue", "cb"): _nli_rows(order=(0, 2, 1)),     # HF CB: 0 entailment, 1 contradiction, 2 neutral
    ("super_glue", "rte"): _nli_rows(),                   # 0 entailment, 1 not_entailment (same as ours)
    ("anli", None): _nli_rows(),                          # 0 entailment, 1 neutral, 2 contradiction
    ("xnli", "en"): _nli_rows(),
    ("super_glue", "copa"): _copa,
    ("hellaswag", None): _hellaswag,
    ("winogrande", "winogrande_xl"): _winogrande,
    ("winogrande", "winogrande_debiased"): _winogrande,
    ("story_cloze", "2016"): _story_cloze,
    ("super_glue", "wic"): _wic,
    ("super_glue", "wsc.fixed"): _wsc,
    ("super_glue", "boolq"): _boolq,
    ("super_glue", "multirc"): _multirc,
    ("paws-x", "en"): _pawsx,
    ("financial_phrasebank", "sentences_allagree"): _financial_phrasebank,
    ("tydiqa", "secondary_task"): _tydiqa_secondary,
    # T0 training datasets
    ("commonsense_qa", None): _hf_commonsense_qa,
    ("cos_e", "v1.11"): _hf_cos_e,
    ("social_i_qa", None): _hf_social_i_qa,
    ("dream", None): _hf_dream,
    ("cosmos_qa", None): _hf_cosmos_qa,
    ("quail", None): _hf_quail,
    ("rotten_tomatoes", None): _hf_text_label,
    ("ag_news", None): _hf_text_label,
    ("trec", None): _hf_trec,
    ("glue", "mrpc"): _hf_sentence_pair,
    ("paws", "labeled_final"): _hf_sentence_pair,
    ("common_gen", None): _hf_common_gen,
    ("wiki_qa", None): _hf_wiki_qa,
}

# ----------------------------------------------------------------------------- templates


@dataclasses.dataclass(frozen=True)
class PromptsourceTemplate:
    """One promptsource template of a (dataset, subset), rendered on canonical or HF-format rows."""

    dataset: str
    subset: str | None
    id: str
    name: str
    jinja: str
    answer_choices: str | None
    original_task: bool
    choices_in_prompt: bool
    metrics: tuple[str, ...]
    languages: tuple[str, ...]
    reference: str = ""
    path: str = ""
    language: str = "en"    # the template's language and style on the cross-lingual axis
    style: str = "p3"
    # The dataset's family and a character cap for its long fields (templating.LONG_FIELDS):
    # promptsource's Jinja never truncates, so `render` cuts the canonical example first.
    family: str | None = None
    max_field_chars: int | None = None

    origin = "promptsource"   # renderer protocol (seqio_tasks.renderers.Renderer)

    @property
    def template_id(self) -> str:
        """The task-name id of this template: `ps_{name}`, sanitized."""
        return TEMPLATE_ID_PREFIX + naming.sanitize(self.name)

    @property
    def ranks(self) -> bool:
        """Whether the template has answer choices (scored by rank classification)."""
        return bool(self.answer_choices)

    @property
    def full_name(self) -> str:
        """`dataset/subset/name`, how errors name the template."""
        return "/".join(p for p in (self.dataset, self.subset, self.name) if p)

    @property
    def converter(self) -> Callable[[Mapping], dict] | None:
        """The canonical -> HF field converter of this template's dataset, if one is registered."""
        return HF_CONVERTERS.get((self.dataset, self.subset))

    def compile(self) -> None:
        """Parses the Jinja text (input, target and answer choices); raises PromptsourceError."""
        for part, source in (("jinja", self.jinja), ("answer_choices", self.answer_choices)):
            if source is None:
                continue
            try:
                _compile(source)
            except jinja2.TemplateError as error:
                raise PromptsourceError(f"{self.path}: template {self.name!r} {part}: {error}") from error

    def to_hf(self, example: Mapping[str, Any]) -> dict:
        """The HF-format row of a canonical example (KeyError names the missing canonical field)."""
        if self.converter is None:
            raise PromptsourceError(f"no canonical -> HF converter for {self.dataset}/{self.subset}; "
                                    f"render HF-format rows with render_hf")
        try:
            return self.converter(example)
        except KeyError as error:
            raise PromptsourceError(f"template {self.full_name}: the example has no field {error.args[0]!r} "
                                    f"(fields: {sorted(example)})") from error

    @property
    def fields(self) -> frozenset[str]:
        """The row fields the template's Jinja (input, target and answer choices) reads."""
        return _fields_read(self.jinja, self.answer_choices)

    def render(self, example: Mapping[str, Any]) -> RenderedExample | None:
        """Renders a canonical example of our sources (converted to HF fields first).

        Long fields of the family are cut to `max_field_chars` first. None when the HF row
        lacks a field the template reads (a converter leaves out what a source does not have,
        e.g. WikiQA train rows have no document title): the template does not apply to the row.
        An unlabelled example (label None or negative) gets an empty target and no answer index.
        """
        row = self.to_hf(templating.truncate_long_fields(example, self.family, self.max_field_chars))
        if not self.fields <= row.keys():
            return None
        rendered = self.render_hf(row)
        label = example.get("label", 0)
        if label is None or (isinstance(label, int) and label < 0):
            return RenderedExample(inputs=rendered.inputs, targets="", options=rendered.options, answer_index=None)
        return rendered

    def get_answer_choices(self, row: Mapping[str, Any]) -> list[str] | None:
        """The answer choices rendered for an HF-format row (None when the template has none)."""
        if self.answer_choices is None:
            return None
        text = self._render(self.answer_choices, self._protect(row), "answer_choices")
        return [self._restore(choice.strip()) for choice in text.split(PIPE)]

    def render_hf(self, row: Mapping[str, Any]) -> RenderedExample:
        """Renders a row that already has the HF dataset's field names."""
        protected = self._protect(row)
        choices = self.get_answer_choices(row)
        context = dict(protected)
        if choices is not None:
            context["answer_choices"] = [self._protect_value(c) for c in choices]
        text = self._render(self.jinja, context, "jinja")
        parts = [self._restore(part.strip()) for part in text.split(PIPE)]
        if len(parts) > 2:
            raise PromptsourceError(f"template {self.full_name} rendered {len(parts)} '|||' parts (expected 2)")
        inputs, targets = parts[0], parts[1] if len(parts) > 1 else ""
        answer_index = choices.index(targets) if choices is not None and targets in choices else None
        return RenderedExample(inputs=inputs, targets=targets, options=choices, answer_index=answer_index)

    # -- helpers

    def _seed(self, row: Mapping[str, Any]) -> int:
        key = json.dumps(row, sort_keys=True, ensure_ascii=False, default=str)
        return zlib.crc32(f"{self.id}\n{key}".encode("utf-8"))

    def _render(self, source: str, context: Mapping[str, Any], part: str) -> str:
        try:
            return _compile(source).render(**context, _choice_rng=random.Random(self._seed(context)))
        except jinja2.UndefinedError as error:
            raise PromptsourceError(f"template {self.full_name} ({part}): {error}; row fields: {sorted(context)}") from error
        except (jinja2.TemplateError, TypeError, ValueError, IndexError, KeyError, AttributeError) as error:
            raise PromptsourceError(f"template {self.full_name} ({part}): {type(error).__name__}: {error}") from error

    @classmethod
    def _protect_value(cls, value: Any) -> Any:
        if isinstance(value, str):
            return value.replace(PIPE, _PIPE_PLACEHOLDER)
        if isinstance(value, list):
            return [cls._protect_value(v) for v in value]
        if isinstance(value, dict):
            return {k: cls._protect_value(v) for k, v in value.items()}
        return value

    @classmethod
    def _protect(cls, row: Mapping[str, Any]) -> dict:
        return {key: cls._protect_value(value) for key, value in row.items()}

    @staticmethod
    def _restore(text: str) -> str:
        return text.replace(_PIPE_PLACEHOLDER, PIPE)


# ----------------------------------------------------------------------------- reading files


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    """A safe YAML loader that knows promptsource's !Template and !TemplateMetadata tags (libyaml's C
    loader where PyYAML has it: the 279 template files took 7 s of every process's start in Python)."""


def _mapping(loader: yaml.SafeLoader, node: yaml.Node) -> dict:
    return loader.construct_mapping(node, deep=True)


_Loader.add_constructor("!Template", _mapping)
_Loader.add_constructor("!TemplateMetadata", _mapping)


def default_directory() -> Path:
    """The promptsource templates directory: {data_dir}/promptsource_templates."""
    from seqio_tasks.paths import data_dir

    root = data_dir()
    if root is None:
        raise FileNotFoundError("no data directory: set $XLIT_DATA_DIR (or gin xlit.data_dir.path) to find "
                                "promptsource_templates/")
    return root / "promptsource_templates"


def _templates_root(directory: str | Path | None) -> Path:
    root = Path(directory) if directory is not None else default_directory()
    if (root / "templates").is_dir():
        root = root / "templates"
    if not root.is_dir():
        raise FileNotFoundError(f"promptsource templates directory not found: {root}")
    return root


def find_template_files(directory: str | Path | None = None) -> list[Path]:
    """Every `templates.yaml` under the promptsource templates directory, sorted."""
    return sorted(_templates_root(directory).rglob("templates.yaml"))


def _metadata_tuple(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    return tuple(str(v) for v in value)


def parse_file(path: str | Path) -> list[PromptsourceTemplate]:
    """All templates of one promptsource `templates.yaml` file."""
    path = Path(path)
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)
    except yaml.YAMLError as error:
        raise PromptsourceError(f"{path}: not valid promptsource YAML: {error}") from error
    if not isinstance(data, Mapping) or "dataset" not in data or not isinstance(data.get("templates"), Mapping):
        raise PromptsourceError(f"{path}: expected keys 'dataset' and 'templates' (a mapping of id -> !Template)")
    dataset, subset = str(data["dataset"]), data.get("subset")
    subset = None if subset is None else str(subset)
    templates = []
    for key, raw in data["templates"].items():
        where = f"{path}: template {key}"
        if not isinstance(raw, Mapping):
            raise PromptsourceError(f"{where}: not a !Template mapping")
        missing = [field for field in ("id", "name", "jinja") if field not in raw]
        if missing:
            raise PromptsourceError(f"{where}: missing {missing}")
        metadata = raw.get("metadata") or {}
        if not isinstance(metadata, Mapping):
            raise PromptsourceError(f"{where}: metadata is not a !TemplateMetadata mapping")
        choices = raw.get("answer_choices")
        templates.append(PromptsourceTemplate(
            dataset=dataset, subset=subset, id=str(raw["id"]), name=str(raw["name"]), jinja=str(raw["jinja"]),
            answer_choices=None if choices is None else str(choices),
            original_task=bool(metadata.get("original_task", False)),
            choices_in_prompt=bool(metadata.get("choices_in_prompt", False)),
            metrics=_metadata_tuple(metadata.get("metrics")), languages=_metadata_tuple(metadata.get("languages")),
            reference=str(raw.get("reference") or ""), path=str(path)))
    return templates


@functools.lru_cache(maxsize=4)
def _all_templates(root: str) -> dict[tuple[str, str | None], tuple[PromptsourceTemplate, ...]]:
    by_dataset: dict[tuple[str, str | None], tuple[PromptsourceTemplate, ...]] = {}
    for path in find_template_files(root):
        templates = parse_file(path)
        if templates:
            by_dataset[(templates[0].dataset, templates[0].subset)] = tuple(templates)
    return by_dataset


def load_all_promptsource(directory: str | Path | None = None) -> dict[tuple[str, str | None], list[PromptsourceTemplate]]:
    """Every promptsource file parsed: (dataset, subset) -> its templates."""
    root = str(_templates_root(directory))
    return {key: list(value) for key, value in _all_templates(root).items()}


def load_promptsource_templates(dataset: str, subset: str | None = None, directory: str | Path | None = None,
                                original_task_only: bool = True) -> list[PromptsourceTemplate]:
    """The promptsource templates of one (dataset, subset), the original-task ones by default (T0's set)."""
    root = _templates_root(directory)
    path = root / dataset / subset / "templates.yaml" if subset else root / dataset / "templates.yaml"
    if not path.is_file():
        raise FileNotFoundError(f"no promptsource templates for {dataset}/{subset or ''}: {path} does not exist")
    templates = list(_all_templates(str(root)).get((dataset, subset), ()))
    if not templates:
        templates = parse_file(path)
    return [t for t in templates if t.original_task or not original_task_only]


# ----------------------------------------------------------------------------- the aligned arm

# The aligned cross-lingual arm: for a family whose canonical schema lines up with an English
# T0 held-out dataset's, the promptsource folders whose original-task templates apply to
# non-English data of that family, each with the number of labels it needs (None: any). NLI:
# 3-way data gets ANLI's 15 templates. CB's 15 have the same input text and answer words
# (only the choices' order differs, so rank classification picks the same answer): they would
# be duplicates, and are left out; RTE's are 2-way (entailment / not entailment) and apply to
# 2-way data only, since folding neutral and contradiction into one label changes the task.
ALIGNED_COUNTERPARTS: dict[str, tuple[tuple[str, str | None, int | None], ...]] = {
    "nli": (("anli", None, 3), ("super_glue", "rte", 2)),
    "copa": (("super_glue", "copa", None),),
    "wic": (("super_glue", "wic", None),),
    "completion": (("hellaswag", None, None),),
}


def aligned_templates(family: str | None, num_labels: int | None, directory: str | Path | None = None
                      ) -> list[PromptsourceTemplate]:
    """The original-task promptsource templates of a family's English counterpart (ALIGNED_COUNTERPARTS).

    Each comes with the style `naming.ALIGNED_STYLE` (template set `en_p3aligned`); folders
    missing from the directory are skipped.
    """
    found = []
    for dataset, subset, labels in ALIGNED_COUNTERPARTS.get(family or "", ()):
        if labels is not None and labels != num_labels:
            continue
        try:
            templates = load_promptsource_templates(dataset, subset, directory, original_task_only=True)
        except FileNotFoundError:
            continue
        found += [dataclasses.replace(t, style=naming.ALIGNED_STYLE) for t in templates]
    return found
