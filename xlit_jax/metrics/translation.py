"""Translation metrics via sacrebleu: corpus BLEU and chrF (0-100).

Korean BLEU: sacrebleu's `ko-mecab` tokenizer needs the MeCab-ko system library, so
Korean references and hypotheses are split into morphemes with kiwipiepy and scored with
`tokenize="none"` (morpheme BLEU, comparable to the mecab-tokenized numbers papers report).
chrF works on characters and needs no tokenization in any language.
"""
from __future__ import annotations

from typing import Sequence

from xlit_jax.metrics import korean


def _check(name: str, targets: Sequence, predictions: Sequence) -> None:
    if len(targets) != len(predictions) or not targets:
        raise ValueError(f"{name}: {len(targets)} targets and {len(predictions)} predictions")


def _morpheme_text(text: str) -> str:
    return " ".join(m.form for m in korean.morphemes(text))


def bleu(targets: Sequence[str], predictions: Sequence[str], language: str = "en") -> float:
    """Corpus BLEU with one reference per example (sacrebleu '13a', morphemes for Korean)."""
    import sacrebleu

    _check("bleu", targets, predictions)
    if language == "ko":
        hyps = [_morpheme_text(p) for p in predictions]
        refs = [_morpheme_text(t) for t in targets]
        return float(sacrebleu.corpus_bleu(hyps, [refs], tokenize="none").score)
    return float(sacrebleu.corpus_bleu(list(predictions), [list(targets)], tokenize="13a").score)


def chrf(targets: Sequence[str], predictions: Sequence[str], language: str = "en") -> float:
    """Corpus chrF (character 6-grams, beta 2) with one reference per example."""
    import sacrebleu

    _check("chrf", targets, predictions)
    return float(sacrebleu.corpus_chrf(list(predictions), [list(targets)]).score)
