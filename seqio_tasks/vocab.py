"""The sentencepiece vocabulary of the tasks: the mT5 one by default, or one trained here."""
from __future__ import annotations

import io
import os
import re
from pathlib import Path
from typing import Iterable, Sequence

import gin

# mT5's vocabulary (250,000 pieces plus 100 sentinels already inside the model file: extra_ids=0).
MT5_VOCABULARY = "gs://t5-data/vocabs/mc4.250000.100extra/sentencepiece.model"
VOCAB_ENV = "XLIT_VOCAB"
PAD_ID, EOS_ID, UNK_ID = 0, 1, 2


@gin.configurable(module="xlit")
def vocabulary_path(path: str | None = None) -> str:
    """The sentencepiece model file: gin `xlit.vocabulary_path.path`, else $XLIT_VOCAB, else mT5's."""
    return str(path or os.environ.get(VOCAB_ENV) or MT5_VOCABULARY)


def get_vocabulary(path: str | None = None, extra_ids: int = 0):
    """A seqio.SentencePieceVocabulary for `path` (default: `vocabulary_path()`); loads lazily."""
    import seqio  # the registry side only; xlit_jax never imports this module at top level

    return seqio.SentencePieceVocabulary(str(path or vocabulary_path()), extra_ids=extra_ids)


def _texts_of_tasks(patterns: Sequence[str], max_examples_per_task: int | None) -> Iterable[str]:
    """Rendered inputs, targets and options of every eval/train task spec whose name matches."""
    from seqio_tasks import task_specs

    regex = re.compile("|".join(f"(?:{p})" for p in patterns))
    for spec in task_specs.all_specs():
        if not regex.search(spec.name) or not task_specs.has_data(spec):
            continue
        for example in task_specs.rendered_examples(spec, max_examples=max_examples_per_task):
            yield example["inputs"]
            yield example["targets"]
            yield from example.get("options") or ()


def train_vocabulary(
    texts_or_task_names: Iterable[str],
    output_path: str | os.PathLike,
    vocab_size: int = 8000,
    *,
    from_tasks: bool = False,
    character_coverage: float = 0.9995,
    model_type: str = "unigram",
    byte_fallback: bool = True,
    max_examples_per_task: int | None = 2000,
    max_sentence_length: int = 8192,
    hard_vocab_limit: bool = False,
) -> Path:
    """Trains a T5-style sentencepiece model (pad 0, eos 1, unk 2) and writes `output_path`.

    texts_or_task_names: raw sentences, or (from_tasks=True) regular expressions over task
    names whose rendered inputs, targets and options are the text (the tasks of the default
    catalog: call `seqio_tasks.registration.load_builtin()` first). With hard_vocab_limit
    False the model may come out smaller than vocab_size when the text is tiny.
    """
    import sentencepiece as spm

    items = list(texts_or_task_names)
    texts = list(_texts_of_tasks(items, max_examples_per_task)) if from_tasks else items
    texts = [t for t in texts if t and t.strip()]
    if not texts:
        raise ValueError("train_vocabulary: no text to train on"
                         + (f" (no task with data matches {items!r})" if from_tasks else ""))
    output_path = Path(output_path)
    output_path.parent.mkdir(parents=True, exist_ok=True)
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(texts),
        model_writer=model,
        vocab_size=vocab_size,
        model_type=model_type,
        character_coverage=character_coverage,
        byte_fallback=byte_fallback,
        pad_id=PAD_ID, eos_id=EOS_ID, unk_id=UNK_ID, bos_id=-1,
        pad_piece="<pad>", eos_piece="</s>", unk_piece="<unk>",
        max_sentence_length=max_sentence_length,
        hard_vocab_limit=hard_vocab_limit,
        split_digits=True,
        minloglevel=2,
    )
    output_path.write_bytes(model.getvalue())
    return output_path
