"""Text embeddings for comparing instructions: the mT5 encoder's mean-pooled states, or character n-gram TF-IDF.

    vectors = lexical_embeddings(texts)                                  # no model: deterministic TF-IDF
    vectors = encoder_embeddings(texts, params, config, tokenizer)       # the model being tuned
    similarity = cosine_similarity(vectors[:1], vectors[1:])

Both return float32 rows of unit L2 norm (a text with no features gives a zero row), so the
cosine similarity of two rows is their dot product.

- `encoder_embeddings`: each text is tokenized as the model reads its inputs (sentencepiece
  ids, EOS appended, cut to `max_length`), padded to the smallest length bucket that holds
  the batch's longest text, encoded with a jitted `Transformer.encode` (no dropout), and its
  states averaged over the real tokens only (pads are masked out of attention by the
  encoder and out of the mean here, so padding never changes an embedding).
- `lexical_embeddings`: scikit-learn's TF-IDF over character n-grams taken inside word
  boundaries (`char_wb`: each word padded with one space), smooth idf
  `ln((1 + n) / (1 + df)) + 1`, sublinear tf `1 + ln(tf)`. Characters work for Korean
  and English alike (no word segmenter); the idf is fitted on the texts given, so scores
  depend on the pool of texts compared together.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

DEFAULT_NGRAM_RANGE = (2, 4)
DEFAULT_BUCKETS = (16, 32, 64, 128, 256, 512)


def l2_normalize(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit L2 norm (all-zero rows stay zero)."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return np.where(norms > 0, vectors / np.maximum(norms, 1e-12), 0.0).astype(np.float32)


def cosine_similarity(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """[len(a), len(b)] cosine similarities of two sets of row vectors."""
    return l2_normalize(a) @ l2_normalize(b).T


# ------------------------------------------------------------------------------ lexical


def lexical_embeddings(texts: Sequence[str], ngram_range: tuple[int, int] = DEFAULT_NGRAM_RANGE,
                       sublinear_tf: bool = True) -> np.ndarray:
    """[len(texts), num_ngrams] L2-normalised character n-gram TF-IDF vectors, idf fitted on `texts`
    (scikit-learn's TfidfVectorizer, `char_wb` analyzer, smooth idf).

    Columns are the n-grams in sorted order, so the result depends only on the texts (not on
    hash seeds or insertion order).
    """
    from sklearn.feature_extraction.text import TfidfVectorizer

    low, high = ngram_range
    if not 1 <= low <= high:
        raise ValueError(f"ngram_range must be (low, high) with 1 <= low <= high, got {ngram_range}")
    texts = [str(text) for text in texts]
    if not any(text.split() for text in texts):   # no n-gram at all: sklearn refuses an empty vocabulary
        return np.zeros((len(texts), 0), dtype=np.float32)
    vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(low, high), lowercase=True,
                                 sublinear_tf=sublinear_tf, smooth_idf=True, norm="l2", dtype=np.float32)
    return l2_normalize(vectorizer.fit_transform(texts).toarray())


# ------------------------------------------------------------------------------ encoder


def _bucket(length: int, buckets: Sequence[int]) -> int:
    for size in buckets:
        if length <= size:
            return int(size)
    return int(buckets[-1])


def mean_pool(states: Any, tokens: Any) -> Any:
    """Mean of `states` [batch, length, dim] over the positions where `tokens` [batch, length] is not padding (0)."""
    import jax.numpy as jnp

    mask = (tokens > 0).astype(jnp.float32)[..., None]
    total = jnp.sum(states.astype(jnp.float32) * mask, axis=1)
    return total / jnp.maximum(jnp.sum(mask, axis=1), 1.0)


def make_encode_fn(config: Any):
    """A jitted (params, tokens [batch, length]) -> mean-pooled encoder states [batch, emb_dim]."""
    import jax

    from xlit_jax.models.mt5 import Transformer

    model = Transformer(config)

    @jax.jit
    def encode(params: Any, tokens: Any) -> Any:
        states = model.apply({"params": params}, tokens, method=Transformer.encode, enable_dropout=False)
        return mean_pool(states, tokens)

    return encode


def encoder_embeddings(texts: Sequence[str], params: Any, config: Any, tokenizer: Any, *, batch_size: int = 32,
                       max_length: int = 512, buckets: Sequence[int] = DEFAULT_BUCKETS,
                       encode_fn: Any = None) -> np.ndarray:
    """[len(texts), emb_dim] L2-normalised mean-pooled mT5 encoder states of the texts.

    `tokenizer` has `encode(text, max_length)` (xlit_jax.tokenizer.Tokenizer). Texts are
    sorted by length and batched; every batch has `batch_size` rows (short batches are filled
    with empty rows) and a bucketed length, so the encoder compiles once per bucket.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    buckets = sorted(b for b in buckets if b <= max_length) or [max_length]
    if buckets[-1] < max_length:
        buckets.append(max_length)
    ids = [tokenizer.encode(str(text), max_length) for text in texts]
    encode = encode_fn or make_encode_fn(config)
    order = sorted(range(len(ids)), key=lambda i: (len(ids[i]), i))
    out = np.zeros((len(ids), config.emb_dim), dtype=np.float32)
    for start in range(0, len(order), batch_size):
        chunk = order[start:start + batch_size]
        length = _bucket(max(len(ids[i]) for i in chunk), buckets)
        tokens = np.zeros((batch_size, length), dtype=np.int32)
        for row, i in enumerate(chunk):
            tokens[row, :len(ids[i])] = ids[i][:length]
        pooled = np.asarray(encode(params, tokens))
        out[chunk] = pooled[:len(chunk)]
    return l2_normalize(out)


def checkpoint_embedder(checkpoint_path: str, vocabulary_path: str | None = None, *,
                        fallback_vocabulary_path: str | None = None, batch_size: int = 32,
                        max_length: int = 512) -> tuple[Any, str]:
    """(embed(texts) -> vectors, description) from a checkpoint in any format `load_params` reads.

    Vocabulary: `vocabulary_path`, else the checkpoint's spiece.model, else the fallback;
    ValueError when it has more pieces than the model's embedding rows.
    """
    from xlit_jax.checkpoints import load_params
    from xlit_jax.evaluator import choose_vocabulary
    from xlit_jax.tokenizer import Tokenizer, check_vocabulary_fits

    params, config = load_params(checkpoint_path)
    path = choose_vocabulary(vocabulary_path, checkpoint_path, fallback_vocabulary_path)
    check_vocabulary_fits(path, config.vocab_size)
    tokenizer = Tokenizer(path)
    encode = make_encode_fn(config)

    def embed(texts: Sequence[str]) -> np.ndarray:
        return encoder_embeddings(texts, params, config, tokenizer, batch_size=batch_size, max_length=max_length,
                                  encode_fn=encode)

    description = f"mT5 encoder (mean-pooled) of {checkpoint_path} ({config.emb_dim} wide, vocabulary {path})"
    return embed, description
