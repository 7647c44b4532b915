"""Prompt templates as data: YAML files of Jinja2 text per task family, rendered on canonical examples.

A template belongs to one family (its canonical example schema, e.g. ``nli``: premise,
hypothesis, label) and has its own language and style, independent of the data's
language: Korean data rendered through an English template is the cross-lingual
setting. Answer words (verbalizers) belong to the template: the target is rendered from
the example's label through ``answer_choices``, so ``options`` are the rendered answer
choices and ``answer_index`` is the position of the target among them.

Files live in ``seqio_tasks/templates/{family}.yaml``::

    family: nli
    defaults:                     # merged into every template of the file (optional)
      target: "{{ answer_choices[label] }}"
    templates:
      - id: ko_korani_01          # unique within the family
        language: ko
        style: korani
        answer_choices: [예, 아마도, 아니요]     # or a Jinja string split on "|||"
        input: |-
          ...{{ premise }}...
        truncate: {premise: 1500}  # field -> characters, or {words: N} / {chars: N}

Long fields are truncated before rendering, so an instruction that follows a passage is
never cut.
"""
from __future__ import annotations

import dataclasses
import functools
import re
from pathlib import Path
from typing import Any, Iterable, Mapping

import jinja2
import yaml

from seqio_tasks import jinja_env
from seqio_tasks.jinja_env import josa  # noqa: F401 (templates' Korean-particle filter, public here)

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
CHOICE_SEPARATOR = "|||"
ELLIPSIS = "…"
_ID = re.compile(r"^[a-z0-9][a-z0-9_]*$")
_STYLE = re.compile(r"^[a-z0-9]+$")
_LANGUAGE = re.compile(r"^[a-z]{2,3}$")
_FIELDS = {"id", "language", "style", "input", "target", "answer_choices", "original_task",
           "choices_in_prompt", "translation_of", "datasets", "truncate", "description", "label_words"}
_REQUIRED = ("id", "language", "style", "input", "target")
# The field that holds the long text of each family: `max_field_chars` caps it even when a
# template declares no `truncate`.
LONG_FIELDS = {
    "boolq": ("passage",),
    "multirc": ("paragraph",),
    "extractive_qa": ("context",),
    "summarization": ("document",),
    "completion": ("context",),
    "coref_wsc": ("text",),
    "multiple_choice_qa": ("context",),
}
# How many classes an NLI example has when it does not say (`num_labels` / `label_names`).
DEFAULT_NUM_LABELS = {"nli": 3}
# Language names as each template language writes them (for translation templates).
LANGUAGE_NAMES = {
    "ko": {"ko": "한국어", "en": "영어", "ja": "일본어", "zh": "중국어", "fr": "프랑스어", "de": "독일어", "es": "스페인어"},
    "en": {"ko": "Korean", "en": "English", "ja": "Japanese", "zh": "Chinese", "fr": "French", "de": "German",
           "es": "Spanish"},
}


class TemplateError(ValueError):
    """A template file or a render failed; the message names the file or template and the field."""


@dataclasses.dataclass
class RenderedExample:
    """One rendered example: prompt, answer, and the answer options for rank classification."""

    inputs: str
    targets: str
    options: list[str] | None = None
    answer_index: int | None = None


def _compile(source: str) -> jinja2.Template:
    return jinja_env.compile_template(source)


def truncate_text(text: str, *, chars: int | None = None, words: int | None = None,
                  keep: tuple[int, int] | None = None) -> str:
    """Shortens text to a character or word budget at a word boundary, marking the cut with '…'.

    `keep` = (start, end) character span that must survive (an answer inside a QA context):
    when the budget's prefix would cut it, a window around the span is kept instead.
    """
    if words is not None:
        pieces = text.split()
        if len(pieces) > words:
            text = " ".join(pieces[:words]) + " " + ELLIPSIS
    if chars is None or len(text) <= chars:
        return text
    if chars <= 0:
        return ""
    start = 0
    if keep is not None and keep[1] > chars:
        span = keep[1] - keep[0]
        start = max(0, min(keep[0] - max(0, (chars - span) // 2), len(text) - chars))
        # move the window start to a word boundary
        boundary = text.rfind(" ", 0, start + 1)
        start = boundary + 1 if boundary > 0 and start - boundary < 40 else start
    piece = text[start:start + chars]
    if start + chars < len(text):
        cut = piece.rfind(" ")
        if cut > 0.7 * len(piece) and (keep is None or start + cut >= keep[1]):
            piece = piece[:cut]
        piece = piece.rstrip() + " " + ELLIPSIS
    return (ELLIPSIS + " " + piece.lstrip()) if start > 0 else piece


def truncate_long_fields(example: Mapping[str, Any], family: str | None, max_field_chars: int | None) -> Mapping[str, Any]:
    """The example with its family's long fields (LONG_FIELDS) cut to `max_field_chars` (unchanged when None)."""
    if max_field_chars is None or not LONG_FIELDS.get(family or ""):
        return example
    values = dict(example)
    answers, starts = values.get("answers"), values.get("answer_start")
    for field in LONG_FIELDS[family]:
        if isinstance(values.get(field), str):
            keep = None   # an extractive-QA answer inside the context survives the cut
            if field == "context" and answers and starts and int(starts[0]) >= 0:
                keep = (int(starts[0]), int(starts[0]) + len(answers[0]))
            values[field] = truncate_text(values[field], chars=max_field_chars, keep=keep)
    return values


@dataclasses.dataclass(frozen=True)
class Template:
    """A prompt template of one task family, in one language and style."""

    id: str
    family: str
    language: str
    style: str
    input: str
    target: str
    answer_choices: list[str] | str | None = None
    original_task: bool = True
    choices_in_prompt: bool = False
    translation_of: str | None = None
    datasets: tuple[str, ...] | None = None
    truncate: dict | None = None
    description: str = ""
    # Verbalizers by canonical label name, for families whose label set varies per dataset
    # (sentiment, hate speech, intent): the answer choices are label_words[name] for each of
    # the dataset's label names, in label order.
    label_words: dict | None = None
    # The dataset's label names, bound by `get_templates(dataset=...)` / `for_dataset`; an
    # example's own `label_names` field takes precedence.
    label_names: tuple[str, ...] | None = None
    # Characters each long field is cut to when `render` is not given `max_field_chars`
    # (bound by the task catalog, so a template renders the same everywhere it is used).
    max_field_chars: int | None = None

    origin = "templates"   # renderer protocol (seqio_tasks.renderers.Renderer)

    def __hash__(self) -> int:
        return hash((self.family, self.id))

    @property
    def name(self) -> str:
        """`{family}/{id}`, how errors name the template."""
        return f"{self.family}/{self.id}"

    @property
    def template_id(self) -> str:
        """The task-name id of this template (its `id`)."""
        return self.id

    @property
    def ranks(self) -> bool:
        """Whether the template has answer choices (scored by rank classification)."""
        return bool(self.answer_choices)

    def applies_to(self, dataset: str | None) -> bool:
        """Whether this template may render examples of a dataset (None: any)."""
        return dataset is None or self.datasets is None or dataset in self.datasets

    def can_verbalize(self, label_names: Iterable[str] | None) -> bool:
        """Whether `label_words` has a word for every label name (always true without label_words)."""
        if self.label_words is None or label_names is None:
            return True
        return all(name in self.label_words for name in label_names)

    def for_dataset(self, label_names: Iterable[str] | None) -> "Template":
        """This template bound to a dataset's label names (used when examples do not carry them).

        A template with `label_words` that can name every label gets its `answer_choices`
        resolved to those words, in label order.
        """
        names = tuple(label_names) if label_names is not None else None
        bound = dataclasses.replace(self, label_names=names)
        if self.label_words is not None and names and self.can_verbalize(names):
            bound = dataclasses.replace(bound, answer_choices=[str(self.label_words[n]) for n in names])
        return bound

    def _budgets(self, max_field_chars: int | None) -> dict[str, dict]:
        budgets: dict[str, dict] = {}
        for field, spec in (self.truncate or {}).items():
            budgets[field] = dict(spec) if isinstance(spec, Mapping) else {"chars": int(spec)}
        if max_field_chars is not None:
            for field in set(budgets) | set(LONG_FIELDS.get(self.family, ())):
                budget = budgets.setdefault(field, {})
                budget["chars"] = min(budget.get("chars", max_field_chars), max_field_chars)
        return budgets

    def _truncated(self, example: Mapping[str, Any], max_field_chars: int | None) -> dict:
        values = dict(example)
        for field, budget in self._budgets(max_field_chars).items():
            value = values.get(field)
            if not isinstance(value, str):
                continue
            keep = None
            answers, starts = values.get("answers"), values.get("answer_start")
            if field == "context" and answers and starts and int(starts[0]) >= 0:
                keep = (int(starts[0]), int(starts[0]) + len(answers[0]))
            values[field] = truncate_text(value, chars=budget.get("chars"), words=budget.get("words"), keep=keep)
        return values

    def _context(self, values: dict) -> dict:
        context = dict(values)
        label_names = values.get("label_names") or self.label_names
        if label_names is not None:
            context["label_names"] = list(label_names)
        num_labels = values.get("num_labels")
        if num_labels is None and label_names:
            num_labels = len(label_names)
        if num_labels is None:
            num_labels = DEFAULT_NUM_LABELS.get(self.family)
        if num_labels is not None:
            context["num_labels"] = int(num_labels)
        context["lang_names"] = LANGUAGE_NAMES.get(self.language, LANGUAGE_NAMES["en"])
        return context

    def _render(self, source: str, context: Mapping[str, Any], part: str) -> str:
        try:
            return _compile(source).render(**context).strip()
        except jinja2.UndefinedError as error:
            raise TemplateError(f"template {self.name} ({part}): {error} "
                                f"(example fields: {sorted(k for k in context if k != 'lang_names')})") from error
        except (jinja2.TemplateError, TypeError, IndexError, KeyError, ValueError) as error:
            raise TemplateError(f"template {self.name} ({part}): {type(error).__name__}: {error}") from error

    def options(self, example: Mapping[str, Any]) -> list[str] | None:
        """The answer choices rendered for one example (None for generation templates)."""
        return self._options(self._context(dict(example)))

    def _options(self, context: Mapping[str, Any]) -> list[str] | None:
        if self.label_words is not None:
            names = context.get("label_names")
            if not names:
                raise TemplateError(f"template {self.name} verbalizes labels by name (label_words) but neither the "
                                    f"example nor the template knows the dataset's label_names: get the template "
                                    f"with get_templates(dataset=...) or call template.for_dataset(label_names)")
            missing = [name for name in names if name not in self.label_words]
            if missing:
                raise TemplateError(f"template {self.name} has no answer word for labels {missing} "
                                    f"(its label_words: {sorted(self.label_words)})")
            return [str(self.label_words[name]) for name in names]
        if self.answer_choices is None:
            return None
        if isinstance(self.answer_choices, str):
            text = self._render(self.answer_choices, context, "answer_choices")
            choices = [c.strip() for c in text.split(CHOICE_SEPARATOR)]
        else:
            choices = [self._render(c, context, "answer_choices") if "{" in c else str(c).strip()
                       for c in self.answer_choices]
        if not choices or any(not c for c in choices):
            raise TemplateError(f"template {self.name}: empty answer choice in {choices!r}")
        return choices

    def render(self, example: Mapping[str, Any], *, max_field_chars: int | None = None) -> RenderedExample:
        """Renders one canonical example into inputs/targets/options/answer_index.

        An unlabelled example (label None or negative) gets an empty target, so callers can
        leave it out of training and scoring.
        """
        if max_field_chars is None:
            max_field_chars = self.max_field_chars
        context = self._context(self._truncated(example, max_field_chars))
        options = self._options(context)
        if options is not None:
            context["answer_choices"] = options
        inputs = self._render(self.input, context, "input")
        label = example.get("label", 0)
        if label is None or (isinstance(label, int) and label < 0):
            return RenderedExample(inputs=inputs, targets="", options=options, answer_index=None)
        targets = self._render(self.target, context, "target")
        answer_index = None
        if options is not None:
            if targets not in options:
                raise TemplateError(f"template {self.name}: target {targets!r} is not among its options {options!r}")
            answer_index = options.index(targets)
        return RenderedExample(inputs=inputs, targets=targets, options=options, answer_index=answer_index)


# ----------------------------------------------------------------------------- loading


def _as_bool(value: Any, where: str, key: str) -> bool:
    if not isinstance(value, bool):
        raise TemplateError(f"{where}: {key} must be true or false, got {value!r}")
    return value


def _template_from_dict(raw: Mapping[str, Any], family: str, where: str) -> Template:
    unknown = set(raw) - _FIELDS
    if unknown:
        raise TemplateError(f"{where}: unknown keys {sorted(unknown)} (allowed: {sorted(_FIELDS)})")
    missing = [key for key in _REQUIRED if key not in raw or raw[key] in (None, "")]
    if missing:
        raise TemplateError(f"{where}: missing {missing}")
    template_id = str(raw["id"])
    if not _ID.match(template_id):
        raise TemplateError(f"{where}: id {template_id!r} must match {_ID.pattern}")
    if not _LANGUAGE.match(str(raw["language"])):
        raise TemplateError(f"{where}: language {raw['language']!r} must be a 2-3 letter code")
    if not _STYLE.match(str(raw["style"])):
        raise TemplateError(f"{where}: style {raw['style']!r} must match {_STYLE.pattern}")
    choices = raw.get("answer_choices")
    if choices is not None and not isinstance(choices, str):
        if not isinstance(choices, list) or not all(isinstance(c, (str, int, float)) for c in choices):
            raise TemplateError(f"{where}: answer_choices must be a list of strings or a Jinja string")
        choices = [str(c) for c in choices]
    datasets = raw.get("datasets")
    if datasets is not None:
        if isinstance(datasets, str) or not all(isinstance(d, str) for d in datasets):
            raise TemplateError(f"{where}: datasets must be a list of dataset names")
        datasets = tuple(datasets)
    label_words = raw.get("label_words")
    if label_words is not None:
        if not isinstance(label_words, Mapping) or not all(isinstance(v, str) and v for v in label_words.values()):
            raise TemplateError(f"{where}: label_words must map label names to non-empty answer words")
        if choices is not None:
            raise TemplateError(f"{where}: give answer_choices or label_words, not both")
        label_words = {str(k): str(v) for k, v in label_words.items()}
    truncate = raw.get("truncate")
    if truncate is not None:
        if not isinstance(truncate, Mapping):
            raise TemplateError(f"{where}: truncate must map field names to budgets")
        for field, spec in truncate.items():
            ok = isinstance(spec, int) or (isinstance(spec, Mapping) and set(spec) <= {"chars", "words"} and spec
                                           and all(isinstance(v, int) and v > 0 for v in spec.values()))
            if not ok:
                raise TemplateError(f"{where}: truncate[{field!r}] must be a character count or {{chars: N, words: N}}")
        truncate = dict(truncate)
    template = Template(
        id=template_id, family=family, language=str(raw["language"]), style=str(raw["style"]),
        input=str(raw["input"]), target=str(raw["target"]), answer_choices=choices,
        original_task=_as_bool(raw.get("original_task", True), where, "original_task"),
        choices_in_prompt=_as_bool(raw.get("choices_in_prompt", False), where, "choices_in_prompt"),
        translation_of=raw.get("translation_of"), datasets=datasets, truncate=truncate,
        description=str(raw.get("description", "")), label_words=label_words)
    for part, source in (("input", template.input), ("target", template.target),
                         ("answer_choices", choices if isinstance(choices, str) else None)):
        if source is None:
            continue
        try:
            _compile(source)
        except jinja2.TemplateSyntaxError as error:
            raise TemplateError(f"{where}: {part} is not valid Jinja (line {error.lineno}): {error.message}") from error
    return template


def load_file(path: str | Path) -> list[Template]:
    """The templates of one family file."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise TemplateError(f"{path}: not valid YAML: {error}") from error
    if not isinstance(data, Mapping) or "family" not in data or not isinstance(data.get("templates"), list):
        raise TemplateError(f"{path}: expected a mapping with 'family' and a list 'templates'")
    family = str(data["family"])
    defaults = data.get("defaults") or {}
    templates, seen = [], set()
    for position, raw in enumerate(data["templates"]):
        if not isinstance(raw, Mapping):
            raise TemplateError(f"{path}: templates[{position}] is not a mapping")
        where = f"{path} template {raw.get('id', f'#{position}')!r}"
        template = _template_from_dict({**defaults, **raw}, family, where)
        if template.id in seen:
            raise TemplateError(f"{where}: duplicate id in family {family!r}")
        seen.add(template.id)
        templates.append(template)
    ids = {t.id for t in templates}
    for template in templates:
        if template.translation_of is not None and template.translation_of not in ids:
            raise TemplateError(f"{path} template {template.id!r}: translation_of {template.translation_of!r} "
                                f"is not a template of family {family!r}")
    return templates


def load_templates(directory: str | Path | None = None) -> list[Template]:
    """All templates of every family file in a directory (the packaged templates by default)."""
    directory = Path(directory) if directory is not None else TEMPLATES_DIR
    files = sorted(directory.glob("*.yaml"))
    if not files:
        raise TemplateError(f"no template files (*.yaml) in {directory}")
    templates, families = [], {}
    for path in files:
        loaded = load_file(path)
        for template in loaded:
            if template.family in families and families[template.family] != path:
                raise TemplateError(f"{path}: family {template.family!r} is also defined in {families[template.family]}")
            families[template.family] = path
        templates.extend(loaded)
    return templates


@functools.lru_cache(maxsize=1)
def _packaged() -> tuple[Template, ...]:
    return tuple(load_templates())


def families() -> list[str]:
    """The families that have packaged templates."""
    return sorted({t.family for t in _packaged()})


def dataset_label_names(dataset: str) -> tuple[str, ...] | None:
    """A dataset's label names from its data source (None when unknown or unlabelled)."""
    try:
        from seqio_tasks.sources import get_source
        names = get_source(dataset).label_names
    except (ImportError, KeyError):
        return None
    return tuple(names) if names else None


def get_templates(family: str | None = None, language: str | None = None, style: str | None = None,
                  dataset: str | None = None, original_task: bool | None = None) -> list[Template]:
    """Packaged templates filtered by family, template language, style, dataset and original_task.

    With `dataset`, the templates come bound to the dataset's label names (from its source),
    and templates whose `label_words` cannot name every label of the dataset are left out.
    """
    label_names = dataset_label_names(dataset) if dataset is not None else None
    selected = [t for t in _packaged()
                if (family is None or t.family == family)
                and (language is None or t.language == language)
                and (style is None or t.style == style)
                and t.applies_to(dataset)
                and (original_task is None or t.original_task == original_task)]
    if dataset is None:
        return selected
    return [t.for_dataset(label_names) for t in selected if t.can_verbalize(label_names)]


def get_template(family: str, id: str) -> Template:  # noqa: A002 (the API's name)
    """One packaged template by family and id."""
    for template in _packaged():
        if template.family == family and template.id == id:
            return template
    known = [t.id for t in _packaged() if t.family == family]
    if not known:
        raise KeyError(f"no templates for family {family!r}; families: {families()}")
    raise KeyError(f"no template {id!r} in family {family!r}; ids: {known}")


def translation_pairs(templates: Iterable[Template] | None = None) -> list[tuple[Template, Template]]:
    """(original, translation) pairs along the cross-lingual template axis."""
    templates = list(_packaged() if templates is None else templates)
    by_key = {(t.family, t.id): t for t in templates}
    return [(by_key[(t.family, t.translation_of)], t) for t in templates
            if t.translation_of is not None and (t.family, t.translation_of) in by_key]
