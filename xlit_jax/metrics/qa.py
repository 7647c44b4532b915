"""Question-answering metrics: exact match and token F1 (percent), with Korean normalization.

English follows SQuAD: lower-case, drop punctuation and the articles a/an/the, split on
whitespace. Korean answers are compared as morphemes (kiwipiepy) with particles (josa)
and punctuation removed: whitespace tokens glue particles to nouns ('서울에서' vs the
gold '서울'), so whitespace-token F1 would give zero to a right answer, while character
F1 (KorQuAD's script) credits shared syllables of different words. Dropping J* tags
makes '서울에서' and '서울' the same answer; morpheme F1 credits partial spans by content.
"""
from __future__ import annotations

import collections
import re
import string
import unicodedata
from typing import Sequence

from xlit_jax.metrics import korean

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = set(string.punctuation)


def _strip_punctuation(text: str) -> str:
    return "".join(ch for ch in text if ch not in _PUNCTUATION and not unicodedata.category(ch).startswith("P"))


def answer_tokens(text: str, language: str = "en") -> list[str]:
    """The normalized tokens of an answer: SQuAD-style for English, content morphemes for Korean."""
    text = unicodedata.normalize("NFC", text)
    if language == "ko":
        return [t for t in korean.morpheme_forms(text, drop_particles=True, drop_punctuation=True)
                if _strip_punctuation(t)]
    text = _strip_punctuation(text.lower())
    text = _ARTICLES.sub(" ", text)
    return text.split()


def _references(target: str | Sequence[str]) -> list[str]:
    refs = [target] if isinstance(target, str) else list(target)
    if not refs:
        raise ValueError("a QA example has no reference answer")
    return refs


def example_exact_match(target: str | Sequence[str], prediction: str, language: str = "en") -> float:
    """1.0 if the prediction's normalized tokens equal those of any reference, else 0.0."""
    predicted = answer_tokens(prediction, language)
    return float(any(answer_tokens(ref, language) == predicted for ref in _references(target)))


def _f1(reference: list[str], predicted: list[str]) -> float:
    if not reference or not predicted:
        return float(reference == predicted)
    common = collections.Counter(reference) & collections.Counter(predicted)
    overlap = sum(common.values())
    if overlap == 0:
        return 0.0
    precision, recall = overlap / len(predicted), overlap / len(reference)
    return 2 * precision * recall / (precision + recall)


def example_f1(target: str | Sequence[str], prediction: str, language: str = "en") -> float:
    """Best bag-of-tokens F1 of the prediction against any reference (0.0-1.0)."""
    predicted = answer_tokens(prediction, language)
    return max(_f1(answer_tokens(ref, language), predicted) for ref in _references(target))


def exact_match(targets: Sequence[str | Sequence[str]], predictions: Sequence[str], language: str = "en") -> float:
    """Mean exact match in percent; a target may be one answer or a list of accepted answers."""
    if len(targets) != len(predictions) or not targets:
        raise ValueError(f"exact_match: {len(targets)} targets and {len(predictions)} predictions")
    return 100.0 * sum(example_exact_match(t, p, language) for t, p in zip(targets, predictions)) / len(targets)


def f1(targets: Sequence[str | Sequence[str]], predictions: Sequence[str], language: str = "en") -> float:
    """Mean token F1 in percent (morpheme F1 without particles for Korean)."""
    if len(targets) != len(predictions) or not targets:
        raise ValueError(f"f1: {len(targets)} targets and {len(predictions)} predictions")
    return 100.0 * sum(example_f1(t, p, language) for t, p in zip(targets, predictions)) / len(targets)
