"""The one Jinja2 environment that renders every prompt template: xlit's YAML templates and promptsource's.

Strict undefined variables (a missing example field is an error, not an empty string), no
autoescaping, and the filters both template kinds use: xlit's (`josa`, `squote`, `dquote`,
`letter`, `round_score`) and promptsource's (`choice`, `most_frequent`, `highlight`).
`choice` picks with the `_choice_rng` the caller puts in the render context (promptsource
templates seed it per template and example), so renders are reproducible.
"""
from __future__ import annotations

import functools
import random
from collections import Counter
from typing import Any

import jinja2

_HANGUL_FIRST, _HANGUL_LAST = 0xAC00, 0xD7A3
_RIEUL_BATCHIM = 8
_DIGIT_HAS_BATCHIM = {"0": True, "1": True, "2": False, "3": True, "4": False, "5": False, "6": True,
                      "7": True, "8": True, "9": False}


def josa(word: Any, particle: str) -> str:
    """The word followed by the Korean particle that fits its last sound: josa("사과", "을/를") -> "사과를".

    `particle` is "with-batchim/without-batchim" (이/가, 은/는, 을/를, 과/와, 으로/로, 이라는/라는, 아/야).
    A word that ends in no Hangul syllable or digit (e.g. English) gets both forms: "word을(를)", "word(이)라는".
    """
    text = str(word).rstrip()
    with_batchim, _, without_batchim = particle.partition("/")
    last = text.rstrip("\"'”’)]」』 .")[-1:] if text else ""
    if last and _HANGUL_FIRST <= ord(last) <= _HANGUL_LAST:
        batchim = (ord(last) - _HANGUL_FIRST) % 28
        if with_batchim == "으로":
            return text + ("로" if batchim in (0, _RIEUL_BATCHIM) else "으로")
        return text + (with_batchim if batchim else without_batchim)
    if last in _DIGIT_HAS_BATCHIM:
        has = _DIGIT_HAS_BATCHIM[last]
        if with_batchim == "으로":
            return text + ("로" if not has or last in "178" else "으로")
        return text + (with_batchim if has else without_batchim)
    if with_batchim.endswith(without_batchim) and len(with_batchim) > len(without_batchim):
        return f"{text}({with_batchim[:-len(without_batchim)]}){without_batchim}"   # (이)라는, (으)로
    return f"{text}{with_batchim}({without_batchim})"                                # 을(를), 이(가)


@jinja2.pass_context
def choice(context: jinja2.runtime.Context, choices: Any) -> Any:
    """promptsource's `choice` filter, made reproducible: a pick with the context's `_choice_rng`."""
    choices = list(choices)
    if not choices:
        return ""   # e.g. the answers of an unlabelled QA row: the target renders empty
    rng = context.get("_choice_rng")
    return (rng or random).choice(choices)


def most_frequent(items: Any) -> list:
    """promptsource's `most_frequent` filter: the items that occur most often (ties kept, in order)."""
    items = list(items)
    if not items:
        return []
    counts = Counter(items)
    top = max(counts.values())
    return [item for item in dict.fromkeys(items) if counts[item] == top]


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=False,
                             trim_blocks=False, lstrip_blocks=False)
    env.globals.update(zip=zip, enumerate=enumerate, range=range, len=len)
    env.filters["josa"] = josa
    env.filters["squote"] = lambda text: f"'{text}'"
    env.filters["dquote"] = lambda text: f'"{text}"'
    env.filters["letter"] = lambda index: "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[int(index)]
    env.filters["round_score"] = lambda value, digits=1: f"{float(value):.{int(digits)}f}"
    env.filters["choice"] = choice
    env.filters["most_frequent"] = most_frequent
    env.filters["highlight"] = lambda text: text   # promptsource's UI-only highlighting
    return env


ENVIRONMENT = _environment()


@functools.lru_cache(maxsize=None)
def compile_template(source: str) -> jinja2.Template:
    """The compiled Jinja template of a source string (cached; raises jinja2.TemplateSyntaxError)."""
    return ENVIRONMENT.from_string(source)
