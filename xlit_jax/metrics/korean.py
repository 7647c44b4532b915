"""Korean morpheme tokenization (kiwipiepy), shared by the Korean QA, ROUGE and BLEU metrics.

kiwipiepy is a pip wheel with its model inside (no system MeCab, no dictionary download),
so Korean metrics work on any box the package installs on.
"""
from __future__ import annotations

import functools
from typing import NamedTuple


class Morpheme(NamedTuple):
    """One morpheme: its form and its Sejong-style part-of-speech tag (e.g. 'NNG', 'JKS', 'SF')."""

    form: str
    tag: str


# Punctuation and symbol tags (period, comma, quotes/brackets, ellipsis, other symbols);
# SL (foreign letters), SH (hanja) and SN (numbers) are content and are kept.
PUNCTUATION_TAGS = frozenset({"SF", "SP", "SS", "SSO", "SSC", "SE", "SO", "SW", "W_SERIAL", "W_EMOJI"})


def is_particle(tag: str) -> bool:
    """Whether a tag is a particle (josa): JKS, JKC, JKG, JKO, JKB, JKV, JKQ, JX, JC."""
    return tag.startswith("J")


def is_punctuation(tag: str) -> bool:
    """Whether a tag is punctuation or a symbol."""
    return tag in PUNCTUATION_TAGS


@functools.lru_cache(maxsize=1)
def _kiwi():
    from kiwipiepy import Kiwi

    return Kiwi()


@functools.lru_cache(maxsize=65536)
def morphemes(text: str) -> tuple[Morpheme, ...]:
    """The morphemes of a Korean text (cached per text)."""
    return tuple(Morpheme(token.form, token.tag) for token in _kiwi().tokenize(text))


def morpheme_forms(text: str, *, drop_particles: bool = False, drop_punctuation: bool = True) -> list[str]:
    """Lower-cased morpheme forms of a text, optionally without particles and punctuation."""
    return [m.form.lower() for m in morphemes(text)
            if not (drop_punctuation and is_punctuation(m.tag)) and not (drop_particles and is_particle(m.tag))]
