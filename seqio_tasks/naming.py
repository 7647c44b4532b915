"""Task and mixture names: one scheme that encodes dataset, template language, style and id.

Evaluation task (one per dataset and template)::

    {dataset}.{template_language}_{template_style}.{template_id}
    kobest_copa.ko_korani.t03         Korean data, Korean KORANI-style template t03
    copa.en_p3.ps_more_likely         English data, a real promptsource template (ids ps_*)
    kobest_copa.en_p3aligned.ps_more_likely   Korean data, the promptsource template of its English
                                      counterpart (the aligned cross-lingual arm)
    kobest_copa.ko_korani.dump1       Korean data, the KORANI authors' dumped template 1 (test_tmp1.csv)

Training task (one per dataset; its examples are spread over its templates)::

    {dataset}.train                          native templates (the data's own language)
    {dataset}.train.{template_language}_{template_style}   other template sets

Mixtures::

    p3_t0_train, korani_train, bilingual_train
    {meta}_heldout.{data_language}.{setting}   e.g. korani_heldout.ko.cross_lingual

Every name matches seqio's task-name pattern ``^[\\w\\d\\.\\:_#]+$``: the parts are
lower-case ASCII letters, digits and underscores, and ``.`` separates them, so a dataset
name and a template id never contain ``.``.
"""
from __future__ import annotations

import re

# seqio.dataset_providers._VALID_TASK_NAME_REGEX (seqio 0.0.20), repeated so this module
# stays importable without seqio/TensorFlow.
SEQIO_NAME_PATTERN = re.compile(r"^[\w\d\.\:_#]+$")
_PART = re.compile(r"^[a-z0-9][a-z0-9_]*$")
_LANGUAGE = re.compile(r"^[a-z]{2,3}$")
_STYLE = re.compile(r"^[a-z0-9]+$")
TRAIN = "train"
SETTINGS = ("native", "cross_lingual", "translated")
# The evaluation protocol's template categories (TaskInfo.template_category; docs/experiments.md,
# "The KORANI evaluation protocol"), finer than the setting:
#   native                 the data's own language and meta-dataset style: real promptsource
#                          original-task templates for an English P3 dataset that has them,
#                          xlit's KORANI-style templates for Korean data
#   native_xlit            xlit's own English P3-style templates on a dataset whose native
#                          templates are promptsource's (the project's set, reported apart)
#   cross_lingual_aligned  the real promptsource templates of the English counterpart dataset on
#                          non-English data whose family schema matches (KoBEST COPA in
#                          SuperGLUE COPA's templates); template set `en_p3aligned`
#   cross_lingual          any other template in another language than the data (xlit's own)
#   translated             a template in the data's language written in the other style
#   dump                   the KORANI authors' own templates, pre-rendered in their release
#                          (`{dataset}.ko_korani.dump{k}`, from test_tmp{k}.csv)
TEMPLATE_CATEGORIES = ("native", "native_xlit", "cross_lingual_aligned", "cross_lingual", "translated", "dump")
ALIGNED_STYLE = "p3aligned"   # the style part of the aligned arm's template set (en_p3aligned)
# Categories that are sets of their own in the protocol: each has its own held-out mixture
# (`{meta}_heldout.{lang}.{category}`, e.g. korani_heldout.ko.cross_lingual_aligned, evaluated by
# gin/eval/korani_heldout_aligned.gin / korani_heldout_dump.gin) and stays out of the settings'
# mixtures and `.all`, so `p3_heldout.en.native` is the promptsource original-task templates only.
SEPARATE_CATEGORIES = ("cross_lingual_aligned", "dump", "native_xlit")


def sanitize(text: str) -> str:
    """Turns free text (a promptsource template name, a file stem) into a name part."""
    part = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")
    if not part:
        raise ValueError(f"cannot make a task-name part from {text!r}")
    return part if part[0].isalnum() else f"x{part}"


def _check(kind: str, value: str, pattern: re.Pattern) -> str:
    if not isinstance(value, str) or not pattern.match(value):
        raise ValueError(f"invalid {kind} {value!r} for a task name (must match {pattern.pattern})")
    return value


def template_set(template_language: str, template_style: str) -> str:
    """The `{language}_{style}` part of a name, e.g. 'ko_korani'."""
    _check("template language", template_language, _LANGUAGE)
    _check("template style", template_style, _STYLE)
    return f"{template_language}_{template_style}"


def eval_task_name(dataset: str, template_language: str, template_style: str, template_id: str) -> str:
    """The evaluation task of one dataset under one template."""
    _check("dataset", dataset, _PART)
    _check("template id", template_id, _PART)
    return f"{dataset}.{template_set(template_language, template_style)}.{template_id}"


def train_task_name(dataset: str, template_language: str | None = None, template_style: str | None = None) -> str:
    """The training task of a dataset: native templates unless a template set is given."""
    _check("dataset", dataset, _PART)
    if template_language is None and template_style is None:
        return f"{dataset}.{TRAIN}"
    return f"{dataset}.{TRAIN}.{template_set(template_language, template_style)}"


def heldout_mixture_name(meta: str, data_language: str, setting: str) -> str:
    """The held-out evaluation mixture of one meta-dataset, data language and template setting."""
    _check("meta-dataset", meta, _PART)
    _check("data language", data_language, _LANGUAGE)
    known = tuple(dict.fromkeys(SETTINGS + TEMPLATE_CATEGORIES + ("all",)))
    if setting not in known:
        raise ValueError(f"invalid setting {setting!r}: expected one of {known}")
    return f"{meta}_heldout.{data_language}.{setting}"


def parse(name: str) -> dict:
    """Splits a task name into its parts: kind ('eval'|'train'), dataset, template language/style/id."""
    if not SEQIO_NAME_PATTERN.match(name):
        raise ValueError(f"{name!r} is not a valid seqio task name")
    parts = name.split(".")
    if len(parts) < 2 or not _PART.match(parts[0]):
        raise ValueError(f"{name!r} is not an xlit task name ({{dataset}}.{{lang}}_{{style}}.{{id}} or {{dataset}}.train)")
    dataset = parts[0]
    if parts[1] == TRAIN and len(parts) in (2, 3):
        out = {"kind": "train", "dataset": dataset, "template_language": None, "template_style": None,
               "template_id": None}
        if len(parts) == 3:
            out["template_language"], out["template_style"] = _split_template_set(name, parts[2])
        return out
    if len(parts) == 3 and _PART.match(parts[2]):
        language, style = _split_template_set(name, parts[1])
        return {"kind": "eval", "dataset": dataset, "template_language": language, "template_style": style,
                "template_id": parts[2]}
    raise ValueError(f"{name!r} is not an xlit task name ({{dataset}}.{{lang}}_{{style}}.{{id}} or {{dataset}}.train)")


def _split_template_set(name: str, part: str) -> tuple[str, str]:
    language, _, style = part.partition("_")
    if not (_LANGUAGE.match(language) and _STYLE.match(style or "")):
        raise ValueError(f"{name!r}: {part!r} is not a template set ({{language}}_{{style}}, e.g. ko_korani)")
    return language, style


def setting(data_language: str, template_language: str, template_style: str, native_style: dict[str, str]) -> str:
    """'native', 'cross_lingual' or 'translated' for data in one language under a template set.

    native_style maps a language to the style written natively in it ({'ko': 'korani', 'en': 'p3'}).
    Data in its own language with its own language's style is native; a template in the
    other language is cross-lingual; a template in the data's language but of the other
    language's style (a translation) is translated.
    """
    if template_language != data_language:
        return "cross_lingual"
    if native_style.get(data_language) == template_style:
        return "native"
    return "translated"


def template_category(data_language: str, template_language: str, template_style: str,
                      native_style: dict[str, str], origin: str = "templates",
                      promptsource_native: bool = False) -> str:
    """The evaluation protocol's category of one (data, template set) pair: one of TEMPLATE_CATEGORIES.

    origin: who wrote the template ('templates' = xlit's YAML, 'promptsource', 'korani_dump');
    promptsource_native: the dataset's native templates are real promptsource ones (an English
    P3 dataset with promptsource folders), so xlit's own native-style templates are `native_xlit`.
    """
    if origin == "korani_dump":
        return "dump"
    relation = setting(data_language, template_language, template_style, native_style)
    if relation == "cross_lingual" and origin == "promptsource":
        return "cross_lingual_aligned"
    if relation == "native" and origin != "promptsource" and promptsource_native:
        return "native_xlit"
    return relation
