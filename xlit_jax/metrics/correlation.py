"""Correlation metrics for generated numbers (STS scores): Pearson and Spearman, times 100."""
from __future__ import annotations

import re
from typing import Sequence

import numpy as np

_NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?")


def parse_number(text: str | float, default: float = 0.0) -> float:
    """The first number in a generated text (an unparseable output becomes `default`)."""
    if isinstance(text, (int, float)):
        return float(text)
    match = _NUMBER.search(text)
    return float(match.group()) if match else default


def _pairs(name: str, targets: Sequence, predictions: Sequence) -> tuple[np.ndarray, np.ndarray]:
    if len(targets) != len(predictions) or len(targets) < 2:
        raise ValueError(f"{name}: needs >= 2 pairs, got {len(targets)} targets and {len(predictions)} predictions")
    return (np.array([parse_number(t) for t in targets], dtype=np.float64),
            np.array([parse_number(p) for p in predictions], dtype=np.float64))


def pearson(targets: Sequence, predictions: Sequence) -> float:
    """Pearson correlation x 100 of the numbers in targets and predictions (0 when one side is constant)."""
    x, y = _pairs("pearson", targets, predictions)
    if x.std() == 0 or y.std() == 0:
        return 0.0
    return float(100.0 * np.corrcoef(x, y)[0, 1])


def spearman(targets: Sequence, predictions: Sequence) -> float:
    """Spearman rank correlation x 100 (average ranks for ties)."""
    from scipy.stats import rankdata

    x, y = _pairs("spearman", targets, predictions)
    if x.std() == 0 or y.std() == 0:
        return 0.0
    return float(100.0 * np.corrcoef(rankdata(x), rankdata(y))[0, 1])
