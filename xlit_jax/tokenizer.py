"""The sentencepiece vocabulary as the core uses it (T5 ids: pad 0, eos 1), read without TensorFlow,
and the check that a vocabulary fits a model's embedding table."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable

PAD_ID, EOS_ID = 0, 1


def _local_model_path(path: str | os.PathLike) -> str:
    path = str(path)
    if "://" in path:
        raise ValueError(f"vocabulary {path}: remote paths need TensorFlow's gfile; copy the "
                         "sentencepiece model to a local file and pass that path")
    if not Path(path).is_file():
        raise FileNotFoundError(f"vocabulary file {path} not found")
    return path


class Tokenizer:
    """A sentencepiece model read from a local file."""

    def __init__(self, path: str | os.PathLike):
        import sentencepiece as spm

        self.path = _local_model_path(path)
        self.processor = spm.SentencePieceProcessor(model_file=self.path)

    @property
    def vocab_size(self) -> int:
        """Number of pieces in the vocabulary."""
        return self.processor.get_piece_size()

    def encode(self, text: str, max_length: int | None = None) -> list[int]:
        """Token ids with EOS appended after truncating to max_length - 1 (EOS is always kept)."""
        ids = list(self.processor.encode(text))
        if max_length is not None:
            ids = ids[: max(max_length - 1, 0)]
        return ids + [EOS_ID]

    def decode(self, ids: Iterable[int]) -> str:
        """Text of ids up to the first EOS, pads dropped; ids the vocabulary has no piece for read as its
        unknown piece, as seqio's decode does (a model's vocab_size is usually rounded up past the
        pieces, e.g. mT5's 250112 rows for 250100 pieces, and a model can emit those rows)."""
        pieces, unknown = self.vocab_size, self.processor.unk_id()
        out = []
        for token in ids:
            token = int(token)
            if token == EOS_ID:
                break
            if token != PAD_ID:
                out.append(token if 0 <= token < pieces else unknown)
        return self.processor.decode(out)


def vocabulary_size(path: str | os.PathLike) -> int:
    """Number of pieces of the sentencepiece model at a local path."""
    return Tokenizer(path).vocab_size


def check_vocabulary_fits(path: str | os.PathLike, vocab_size: int) -> int | None:
    """The vocabulary's piece count; ValueError naming both sizes and the file when it exceeds vocab_size.

    Remote (gs://) vocabularies are not read here (that needs TensorFlow): None, unchecked.
    """
    if "://" in str(path):
        return None
    pieces = vocabulary_size(path)
    if pieces > vocab_size:
        raise ValueError(f"vocabulary {path} has {pieces} pieces but the model's vocab_size is {vocab_size}: "
                         f"ids >= {vocab_size} have no embedding; set xlit.MT5Config.vocab_size >= {pieces} "
                         "or use a smaller vocabulary")
    return pieces
