"""ROUGE-L (percent): rouge-score for English, the same LCS F-measure over morphemes for Korean.

rouge-score's default tokenizer keeps only [a-z0-9] and would delete every Hangul
character, so Korean text is tokenized into morphemes with kiwipiepy (punctuation
dropped, particles and endings kept: they are real tokens of the summary) and scored by
rouge-score with that tokenizer. English uses rouge-score's tokenizer with the Porter
stemmer, as the T5/T0 evaluations do.
"""
from __future__ import annotations

import functools
from typing import Sequence

from xlit_jax.metrics import korean


class KoreanMorphemeTokenizer:
    """A rouge-score tokenizer that splits Korean (and mixed) text into morpheme forms."""

    def tokenize(self, text: str) -> list[str]:
        """Morpheme forms of the text, lower-cased, without punctuation."""
        return korean.morpheme_forms(text, drop_particles=False, drop_punctuation=True)


@functools.lru_cache(maxsize=4)
def _scorer(language: str):
    from rouge_score import rouge_scorer

    if language == "ko":
        return rouge_scorer.RougeScorer(["rougeL"], tokenizer=KoreanMorphemeTokenizer())
    return rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)


def example_rouge_l(target: str, prediction: str, language: str = "en") -> float:
    """ROUGE-L F-measure of one prediction against one reference (0.0-1.0)."""
    return _scorer("ko" if language == "ko" else "en").score(target, prediction)["rougeL"].fmeasure


def rouge_l(targets: Sequence[str], predictions: Sequence[str], language: str = "en") -> float:
    """Mean per-example ROUGE-L F-measure in percent."""
    if len(targets) != len(predictions) or not targets:
        raise ValueError(f"rouge_l: {len(targets)} targets and {len(predictions)} predictions")
    return 100.0 * sum(example_rouge_l(t, p, language) for t, p in zip(targets, predictions)) / len(targets)
