"""Language correctness of generated text: is the output written in the expected language's script?

Every letter is assigned a script from its Unicode character name ('HANGUL SYLLABLE GA' ->
hangul, 'LATIN SMALL LETTER A' -> latin, 'CJK UNIFIED IDEOGRAPH-6771' -> han, 'KATAKANA
LETTER A' -> kana, 'CYRILLIC ...' -> cyrillic, and so for every script Unicode names);
digits, punctuation, symbols, spaces and combining marks are ignored. A language is given
as an ISO 639 code with a known script ('ko', 'en', 'ja', ...) or as a tag that names its
script in ISO 15924 ('kor_Hang', 'sr-Cyrl', 'zh-Hant', 'xx-Latn'), so any language works.

Two measures, both in percent over the predictions:
- `script_ratio` (the language-correctness metric the evaluator reports for every
  generation-scored task): per prediction, the share of its letters written in the
  expected script(s), averaged over the predictions. 'AI 기술' is 0.5 Korean; a Korean
  answer with an English word keeps most of its credit.
- `language_rate`: the percent of predictions whose share reaches a threshold (default
  0.5), i.e. that are "in" the language.
A prediction without letters (empty, a number, punctuation) shows no script. Given the gold
targets (as the evaluator gives them), both measures count it 1.0 when its target (or one
accepted answer) has no letters either (a number answered by a number) and 0.0 when the target
is text (an empty or digits-only output where a sentence was expected is no answer in that
language), so a model that outputs nothing does not score 100; without targets it counts 1.0.
"""
from __future__ import annotations

import collections
import functools
import re
import unicodedata
from typing import Sequence

# Scripts a language is written in (Japanese mixes Kana with Han characters).
LANGUAGE_SCRIPTS: dict[str, frozenset[str]] = {
    "ko": frozenset({"hangul"}),
    "en": frozenset({"latin"}),
    "de": frozenset({"latin"}), "fr": frozenset({"latin"}), "es": frozenset({"latin"}),
    "it": frozenset({"latin"}), "id": frozenset({"latin"}), "vi": frozenset({"latin"}),
    "tr": frozenset({"latin"}), "sw": frozenset({"latin"}), "et": frozenset({"latin"}),
    "ht": frozenset({"latin"}), "qu": frozenset({"latin"}), "pt": frozenset({"latin"}),
    "nl": frozenset({"latin"}), "pl": frozenset({"latin"}), "fi": frozenset({"latin"}),
    "ja": frozenset({"kana", "han"}),
    "zh": frozenset({"han"}),
    "ru": frozenset({"cyrillic"}), "uk": frozenset({"cyrillic"}), "bg": frozenset({"cyrillic"}),
    "el": frozenset({"greek"}),
    "he": frozenset({"hebrew"}),
    "th": frozenset({"thai"}),
    "ta": frozenset({"tamil"}),
    "te": frozenset({"telugu"}),
    "bn": frozenset({"bengali"}),
    "ar": frozenset({"arabic"}), "fa": frozenset({"arabic"}), "ur": frozenset({"arabic"}),
    "hi": frozenset({"devanagari"}), "mr": frozenset({"devanagari"}), "ne": frozenset({"devanagari"}),
}

# ISO 15924 script codes -> the script names this module uses (the first word of Unicode's names).
SCRIPT_CODES: dict[str, frozenset[str]] = {
    "latn": frozenset({"latin"}), "hang": frozenset({"hangul"}), "kore": frozenset({"hangul", "han"}),
    "hani": frozenset({"han"}), "hans": frozenset({"han"}), "hant": frozenset({"han"}),
    "jpan": frozenset({"kana", "han"}), "hira": frozenset({"kana"}), "kana": frozenset({"kana"}),
    "cyrl": frozenset({"cyrillic"}), "grek": frozenset({"greek"}), "arab": frozenset({"arabic"}),
    "hebr": frozenset({"hebrew"}), "deva": frozenset({"devanagari"}), "beng": frozenset({"bengali"}),
    "thai": frozenset({"thai"}), "taml": frozenset({"tamil"}), "telu": frozenset({"telugu"}),
    "knda": frozenset({"kannada"}), "mlym": frozenset({"malayalam"}), "gujr": frozenset({"gujarati"}),
    "guru": frozenset({"gurmukhi"}), "orya": frozenset({"oriya"}), "sinh": frozenset({"sinhala"}),
    "geor": frozenset({"georgian"}), "armn": frozenset({"armenian"}), "ethi": frozenset({"ethiopic"}),
    "khmr": frozenset({"khmer"}), "laoo": frozenset({"lao"}), "mymr": frozenset({"myanmar"}),
    "tibt": frozenset({"tibetan"}), "mong": frozenset({"mongolian"}),
}

# First words of Unicode character names that name no script of their own, or another name for one.
_NAME_ALIASES = {"cjk": "han", "ideographic": "han", "hiragana": "kana", "katakana": "kana"}
_NAME_PREFIXES = ("FULLWIDTH ", "HALFWIDTH ")
_NOT_A_SCRIPT = {"modifier", "mathematical", "double", "script", "black", "old", "combining", "small",
                 "parenthesized", "circled", "squared"}
_TAG = re.compile(r"^(?P<language>[A-Za-z]{2,3})?(?:[-_](?P<script>[A-Za-z]{4}))?(?:[-_].*)?$")


@functools.lru_cache(maxsize=65536)
def char_script(char: str) -> str | None:
    """The script of one letter ('hangul', 'latin', 'han', 'kana', 'cyrillic', ...), 'other' for a
    letter whose name names no script, None for a non-letter (digit, punctuation, space, mark)."""
    if not unicodedata.category(char).startswith("L"):
        return None
    code = ord(char)
    if code < 0x250 or 0x1E00 <= code <= 0x1EFF:   # Latin-1, Latin Extended-A/B and Additional (ª, º too)
        return "latin"
    try:
        name = unicodedata.name(char)
    except ValueError:
        return "other"
    for prefix in _NAME_PREFIXES:
        if name.startswith(prefix):
            name = name[len(prefix):]
    word = name.split(" ", 1)[0].split("-", 1)[0].lower()
    word = _NAME_ALIASES.get(word, word)
    return "other" if word in _NOT_A_SCRIPT else word


def script_counts(text: str) -> collections.Counter:
    """How many letters of the text are in each script."""
    return collections.Counter(s for s in map(char_script, text) if s is not None)


def expected_scripts(language: str) -> frozenset[str]:
    """The scripts a language (ISO 639 code, or a tag with an ISO 15924 script: 'kor_Hang', 'sr-Cyrl')
    is written in; ValueError for a language without a known script."""
    match = _TAG.match(language or "")
    code = (match.group("script") or "").lower() if match else ""
    if code in SCRIPT_CODES:
        return SCRIPT_CODES[code]
    base = (match.group("language") or "").lower() if match else ""
    if language in LANGUAGE_SCRIPTS or base in LANGUAGE_SCRIPTS:
        return LANGUAGE_SCRIPTS.get(language, LANGUAGE_SCRIPTS.get(base))
    raise ValueError(f"no script known for language {language!r}; known: {sorted(LANGUAGE_SCRIPTS)}, or give "
                     f"a tag with an ISO 15924 script such as '{base or 'xx'}-Latn' or 'kor_Hang'")


def script_ratio(text: str, language: str) -> float | None:
    """The share of the text's letters written in the language's scripts; None without letters."""
    scripts = expected_scripts(language)
    counts = script_counts(text)
    total = sum(counts.values())
    if total == 0:
        return None
    return sum(counts[s] for s in scripts) / total


def detect_script(text: str) -> str | None:
    """The dominant script of a text, or None when it has no letters."""
    counts = script_counts(text)
    return counts.most_common(1)[0][0] if counts else None


def is_in_language(text: str, language: str, threshold: float = 0.5) -> bool:
    """Whether at least `threshold` of the text's letters are in the language's scripts."""
    ratio = script_ratio(text, language)
    return True if ratio is None else ratio >= threshold


def _ratios(name: str, predictions: Sequence[str], language: str, targets: Sequence | None) -> list[float]:
    """Each prediction's share of letters in the language's scripts; one without letters counts 1.0,
    or with `targets` 1.0 only when its target (or one accepted answer) has no letters either."""
    if not predictions:
        raise ValueError(f"{name}: no predictions")
    if targets is not None and len(targets) != len(predictions):
        raise ValueError(f"{name}: {len(targets)} targets and {len(predictions)} predictions")
    expected_scripts(language)   # an unknown language fails even when no prediction has letters
    ratios = []
    for position, prediction in enumerate(predictions):
        ratio = script_ratio(prediction, language)
        if ratio is None:
            target = None if targets is None else targets[position]
            texts = [target] if isinstance(target, str) else list(target or [])
            ratio = 1.0 if not texts or any(not script_counts(t) for t in texts) else 0.0
        ratios.append(ratio)
    return ratios


def language_rate(predictions: Sequence[str], language: str, threshold: float = 0.5,
                  targets: Sequence | None = None) -> float:
    """Percent of predictions written in the expected language (share of letters >= threshold)."""
    ratios = _ratios("language_rate", predictions, language, targets)
    return 100.0 * sum(r >= threshold for r in ratios) / len(ratios)


def mean_script_ratio(predictions: Sequence[str], language: str, targets: Sequence | None = None) -> float:
    """Percent: the share of each prediction's letters in the language's scripts, averaged over the
    predictions (letterless predictions as in `_ratios`)."""
    ratios = _ratios("script_ratio", predictions, language, targets)
    return 100.0 * sum(ratios) / len(ratios)
