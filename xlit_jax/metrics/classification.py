"""Classification metrics: accuracy and macro-F1 (percent, 0-100)."""
from __future__ import annotations

from typing import Hashable, Sequence


def _check_lengths(name: str, targets: Sequence, predictions: Sequence) -> None:
    if len(targets) != len(predictions):
        raise ValueError(f"{name}: {len(targets)} targets but {len(predictions)} predictions")
    if not targets:
        raise ValueError(f"{name}: no examples")


def accuracy(targets: Sequence[Hashable], predictions: Sequence[Hashable]) -> float:
    """Percent of predictions equal to their target (strings compared after stripping whitespace)."""
    _check_lengths("accuracy", targets, predictions)
    clean = lambda v: v.strip() if isinstance(v, str) else v  # noqa: E731
    correct = sum(clean(t) == clean(p) for t, p in zip(targets, predictions))
    return 100.0 * correct / len(targets)


def macro_f1(targets: Sequence[Hashable], predictions: Sequence[Hashable],
             labels: Sequence[Hashable] | None = None) -> float:
    """Unweighted mean over classes of per-class F1 (percent).

    Classes are `labels` when given, else every value seen in targets or predictions; a class
    with no true and no predicted example is skipped only when it comes from neither list.
    """
    _check_lengths("macro_f1", targets, predictions)
    classes = list(labels) if labels is not None else sorted(set(targets) | set(predictions), key=repr)
    scores = []
    for label in classes:
        true_positive = sum(t == label and p == label for t, p in zip(targets, predictions))
        predicted = sum(p == label for p in predictions)
        actual = sum(t == label for t in targets)
        if predicted + actual == 0:
            scores.append(0.0)
            continue
        scores.append(2.0 * true_positive / (predicted + actual))
    return 100.0 * sum(scores) / len(scores)
