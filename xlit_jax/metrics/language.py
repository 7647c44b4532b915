"""Language correctness of generated text: is the output written in the expected language?

Detection by script: every letter is assigned a script from its Unicode block (Hangul,
Latin, Han, Kana, Cyrillic, ...); digits, punctuation and spaces are ignored. A text is
in a language when the share of its letters in that language's scripts reaches a
threshold (default 0.5), so Korean with a Latin loanword ('AI 기술') still counts as
Korean, while an English answer to a Korean prompt does not. A text with no letters at
all (a number, an empty string) has no detectable language and counts as correct.
"""
from __future__ import annotations

import collections
import unicodedata
from typing import Sequence

# Scripts a language is written in (Japanese mixes Kana with Han characters).
LANGUAGE_SCRIPTS: dict[str, frozenset[str]] = {
    "ko": frozenset({"hangul"}),
    "en": frozenset({"latin"}),
    "de": frozenset({"latin"}), "fr": frozenset({"latin"}), "es": frozenset({"latin"}),
    "it": frozenset({"latin"}), "id": frozenset({"latin"}), "vi": frozenset({"latin"}),
    "tr": frozenset({"latin"}), "sw": frozenset({"latin"}), "et": frozenset({"latin"}),
    "ht": frozenset({"latin"}), "qu": frozenset({"latin"}),
    "ja": frozenset({"kana", "han"}),
    "zh": frozenset({"han"}),
    "ru": frozenset({"cyrillic"}),
    "th": frozenset({"thai"}),
    "ta": frozenset({"tamil"}),
    "ar": frozenset({"arabic"}),
    "hi": frozenset({"devanagari"}),
}

_BLOCKS = (  # (first, last, script)
    (0x1100, 0x11FF, "hangul"), (0x3130, 0x318F, "hangul"), (0xA960, 0xA97F, "hangul"),
    (0xAC00, 0xD7AF, "hangul"), (0xD7B0, 0xD7FF, "hangul"),
    (0x3040, 0x309F, "kana"), (0x30A0, 0x30FF, "kana"), (0x31F0, 0x31FF, "kana"), (0xFF66, 0xFF9F, "kana"),
    (0x3400, 0x4DBF, "han"), (0x4E00, 0x9FFF, "han"), (0xF900, 0xFAFF, "han"), (0x20000, 0x2FA1F, "han"),
    (0x0400, 0x052F, "cyrillic"), (0x0E00, 0x0E7F, "thai"), (0x0B80, 0x0BFF, "tamil"),
    (0x0600, 0x06FF, "arabic"), (0x0900, 0x097F, "devanagari"), (0x0370, 0x03FF, "greek"),
)


def char_script(char: str) -> str | None:
    """The script of one letter ('hangul', 'latin', 'han', ...), or None for a non-letter."""
    if not unicodedata.category(char).startswith("L"):
        return None
    code = ord(char)
    if code < 0x250 or 0x1E00 <= code <= 0x1EFF or 0xFF21 <= code <= 0xFF5A:
        return "latin"
    for first, last, script in _BLOCKS:
        if first <= code <= last:
            return script
    return "other"


def script_counts(text: str) -> collections.Counter:
    """How many letters of the text are in each script."""
    return collections.Counter(s for s in map(char_script, text) if s is not None)


def script_ratio(text: str, language: str) -> float | None:
    """The share of the text's letters written in the language's scripts; None without letters."""
    if language not in LANGUAGE_SCRIPTS:
        raise ValueError(f"no script known for language {language!r}; known: {sorted(LANGUAGE_SCRIPTS)}")
    counts = script_counts(text)
    total = sum(counts.values())
    if total == 0:
        return None
    return sum(counts[s] for s in LANGUAGE_SCRIPTS[language]) / total


def detect_script(text: str) -> str | None:
    """The dominant script of a text, or None when it has no letters."""
    counts = script_counts(text)
    return counts.most_common(1)[0][0] if counts else None


def is_in_language(text: str, language: str, threshold: float = 0.5) -> bool:
    """Whether at least `threshold` of the text's letters are in the language's scripts."""
    ratio = script_ratio(text, language)
    return True if ratio is None else ratio >= threshold


def language_rate(predictions: Sequence[str], language: str, threshold: float = 0.5) -> float:
    """Percent of predictions written in the expected language."""
    if not predictions:
        raise ValueError("language_rate: no predictions")
    return 100.0 * sum(is_in_language(p, language, threshold) for p in predictions) / len(predictions)
