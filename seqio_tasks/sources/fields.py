"""Small checked conversions of raw field values; each raises RowError with a readable reason."""
from __future__ import annotations

from typing import Any, Mapping, Sequence

from seqio_tasks.sources.errors import RowError

NLI_LABELS = ["entailment", "neutral", "contradiction"]
NLI2_LABELS = ["entailment", "not_entailment"]
NO_YES = ["no", "yes"]
COPA_QUESTIONS = ("cause", "effect")

_TRUE = {"true", "1", "yes"}
_FALSE = {"false", "0", "no"}


def text(row: Mapping[str, Any], key: str, allow_empty: bool = False) -> str:
    """The string field `key`, stripped of surrounding whitespace; empty is an error unless allowed."""
    value = row[key]
    if not isinstance(value, str):
        raise RowError(f"field {key!r} must be a string, got {type(value).__name__}")
    value = value.strip()
    if not value and not allow_empty:
        raise RowError(f"field {key!r} is empty")
    return value


def integer(value: Any, name: str, allowed: Sequence[int] | None = None) -> int:
    """An int from an int or a digit string, optionally checked against `allowed`."""
    if isinstance(value, bool):
        raise RowError(f"{name} must be an integer, got {value!r}")
    if isinstance(value, str):
        value = value.strip()
        if not value.lstrip("-").isdigit():
            raise RowError(f"{name} must be an integer, got {value!r}")
    if not isinstance(value, (int, str)):
        raise RowError(f"{name} must be an integer, got {value!r}")
    result = int(value)
    if allowed is not None and result not in allowed:
        raise RowError(f"{name} must be one of {list(allowed)}, got {result}")
    return result


def number(value: Any, name: str, low: float | None = None, high: float | None = None) -> float:
    """A float from a number or numeric string, optionally range-checked."""
    try:
        result = float(value.strip() if isinstance(value, str) else value)
    except (TypeError, ValueError):
        raise RowError(f"{name} must be a number, got {value!r}") from None
    if result != result or (low is not None and result < low) or (high is not None and result > high):
        raise RowError(f"{name} must be within [{low}, {high}], got {value!r}")
    return result


def boolean(value: Any, name: str) -> int:
    """0/1 from a bool or a 'True'/'False'/'1'/'0' string (any case)."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int) and value in (0, 1):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return int(value.strip().lower() in _TRUE)
    raise RowError(f"{name} must be true/false, got {value!r}")


def label_of(value: Any, names: Sequence[str], name: str = "label", aliases: Mapping[str, str] | None = None) -> int:
    """The index of a label string in `names` (after optional aliases), e.g. 'neutral' -> 1."""
    key = value.strip() if isinstance(value, str) else value
    if aliases and key in aliases:
        key = aliases[key]
    if key not in names:
        raise RowError(f"{name} must be one of {list(names) + sorted(aliases or {})}, got {value!r}")
    return list(names).index(key)
