"""Evaluation metrics, all in percent (0-100): one module per kind, one table of names.

`compute_metric(name, targets, predictions, language)` is what the evaluator calls with a
task's metric names (`TaskInfo.metrics`): accuracy, macro_f1, exact_match, f1, rouge_l,
bleu, chrf, pearson, spearman, language_rate, script_ratio (the last two: language
correctness of the predictions, see `language`).
"""
from __future__ import annotations

from typing import Callable, Sequence

from xlit_jax.metrics import classification, correlation, language, qa, rouge, translation

MetricFn = Callable[[Sequence, Sequence, str], float]

METRICS: dict[str, MetricFn] = {
    "accuracy": lambda t, p, lang: classification.accuracy(t, p),
    "macro_f1": lambda t, p, lang: classification.macro_f1([str(x).strip() for x in t], [str(x).strip() for x in p]),
    "exact_match": qa.exact_match,
    "f1": qa.f1,
    "rouge_l": rouge.rouge_l,
    "bleu": translation.bleu,
    "chrf": translation.chrf,
    "pearson": lambda t, p, lang: correlation.pearson(t, p),
    "spearman": lambda t, p, lang: correlation.spearman(t, p),
    "language_rate": lambda t, p, lang: language.language_rate(p, lang, targets=t),
    "script_ratio": lambda t, p, lang: language.mean_script_ratio(p, lang, targets=t),
}


def compute_metric(name: str, targets: Sequence, predictions: Sequence, language: str = "en") -> float:
    """One named metric of predictions against targets, for text in `language`."""
    if name not in METRICS:
        raise KeyError(f"unknown metric {name!r}; known: {sorted(METRICS)}")
    return float(METRICS[name](targets, predictions, language))
