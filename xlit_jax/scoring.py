"""Rank classification: score each answer option by its log-likelihood and pick the best.

The encoder runs once per example; the example's K options are scored together in one decoder
row, packed as segments (`option_log_likelihoods`), so the cross-attention keys and values are
projected once per example.
`naive_option_log_likelihoods` is the reference the shared-encoder path must equal: the
input repeated once per option and the whole model run on every (example, option) row,
as t5x/T0 rank classification does.
"""
from __future__ import annotations

import dataclasses
import functools
from typing import Any, Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from xlit_jax import batching

Array = jax.Array


@dataclasses.dataclass
class RankResult:
    """One example's option scores (float64 [num_options]) and the index of the best option."""

    scores: np.ndarray
    choice: int


def _shift_right(targets: Array) -> Array:
    """Decoder inputs: targets shifted right by one, starting with the pad id 0 (t5x)."""
    return jnp.pad(targets, [(0, 0)] * (targets.ndim - 1) + [(1, 0)])[..., :-1]


def target_log_likelihoods(logits: Array, targets: Array, *, length_normalize: bool = False) -> Array:
    """Sum (or per-token mean) over non-pad positions of log p(target token): [..., T, V], [..., T] -> [...]."""
    logits = logits.astype(jnp.float32)
    target_logits = jnp.take_along_axis(logits, targets[..., None], axis=-1)[..., 0]
    token_log_probs = target_logits - jax.nn.logsumexp(logits, axis=-1)
    valid = targets > 0
    total = jnp.sum(jnp.where(valid, token_log_probs, 0.0), axis=-1)
    if length_normalize:
        total = total / jnp.maximum(jnp.sum(valid, axis=-1), 1)
    return total


def pack_options(option_tokens: Array) -> tuple[Array, Array, Array]:
    """Options [B, K, T] as one decoder row each: (targets, decoder inputs, segment ids), all [B, K*T].

    Option k is segment k+1 (padding is 0), and its decoder inputs are its own targets shifted right,
    so each segment starts from the pad id as an unpacked option does; with causal and segment
    masks, every option sees only its own earlier tokens.
    """
    batch, num_options, target_length = option_tokens.shape
    targets = option_tokens.reshape(batch, num_options * target_length)
    inputs = _shift_right(option_tokens).reshape(batch, num_options * target_length)
    segments = jnp.broadcast_to(jnp.arange(1, num_options + 1, dtype=jnp.int32)[None, :, None], option_tokens.shape)
    segments = jnp.where(option_tokens > 0, segments, 0).reshape(batch, num_options * target_length)
    return targets, inputs, segments


@functools.partial(jax.jit, static_argnums=(0,), static_argnames=("length_normalize",))
def option_log_likelihoods(model: Any, params: Any, encoder_input_tokens: Array, option_tokens: Array, *,
                           length_normalize: bool = False) -> Array:
    """Log-likelihood [B, K] of each option [B, K, T] given its input [B, L].

    One encoder pass per example, and one decoder row per example holding its K options as packed
    segments: the cross-attention keys and values are projected once per example, not once per
    option, and the encoder states are not repeated.
    """
    batch, num_options, target_length = option_tokens.shape
    variables = {"params": params}
    encoded = model.apply(variables, encoder_input_tokens, enable_dropout=False, method=model.encode)
    targets, decoder_inputs, segments = pack_options(option_tokens)
    logits = model.apply(variables, encoded, encoder_input_tokens, decoder_inputs, targets,
                         decoder_segment_ids=segments, enable_dropout=False, method=model.decode)
    logits = logits.reshape(batch, num_options, target_length, -1)
    return target_log_likelihoods(logits, option_tokens, length_normalize=length_normalize)


@functools.partial(jax.jit, static_argnums=(0,), static_argnames=("length_normalize",))
def naive_option_log_likelihoods(model: Any, params: Any, encoder_input_tokens: Array, option_tokens: Array, *,
                                 length_normalize: bool = False) -> Array:
    """The reference for `option_log_likelihoods`: the full model on every (example, option) row."""
    batch, num_options, target_length = option_tokens.shape
    encoder_tokens = jnp.repeat(encoder_input_tokens, num_options, axis=0)
    targets = option_tokens.reshape(batch * num_options, target_length)
    logits = model.apply({"params": params}, encoder_tokens, _shift_right(targets), targets, enable_dropout=False)
    scores = target_log_likelihoods(logits, targets, length_normalize=length_normalize)
    return scores.reshape(batch, num_options)


def _validate(inputs: Sequence[Sequence[int]], options: Sequence[Sequence[Sequence[int]]]) -> None:
    if len(inputs) != len(options):
        raise ValueError(f"rank_classify: {len(inputs)} inputs but {len(options)} option lists")
    for i, (example_inputs, example_options) in enumerate(zip(inputs, options)):
        if len(example_inputs) == 0:
            raise ValueError(f"rank_classify: example {i} has empty input tokens")
        if any(int(t) <= 0 for t in example_inputs):
            raise ValueError(f"rank_classify: example {i} input contains a pad id (0) or negative id; "
                             "give unpadded token lists")
        if len(example_options) == 0:
            raise ValueError(f"rank_classify: example {i} has no options")
        for k, option in enumerate(example_options):
            if len(option) == 0:
                raise ValueError(f"rank_classify: example {i} option {k} has no tokens")
            if any(int(t) <= 0 for t in option):
                raise ValueError(f"rank_classify: example {i} option {k} contains a pad id (0) or negative id: "
                                 f"{list(option)}")


def rank_classify(model: Any, params: Any, inputs: Sequence[Sequence[int]],
                  options: Sequence[Sequence[Sequence[int]]], *, batch_size: int = 16,
                  length_normalize: bool = False, max_input_length: int | None = None,
                  scorer: Callable | None = None, padding: batching.Padding | None = None,
                  progress: Callable[[int], Any] | None = None) -> list[RankResult]:
    """Scores every option of every example (any number of options each) and picks the most likely.

    inputs: token ids per example (EOS-terminated, no padding); options: per example a list of
    target token id lists. Inputs longer than max_input_length are cut to it. Examples are sorted
    by the shape they pad to (input length, option count and option length buckets) and batched;
    every batch has batch_size rows, padded to `padding`'s buckets (default
    `batching.DEFAULT_BUCKETS`, so the number of compilations is bounded whatever the tasks;
    `batching.PowerOfTwo()` is the earlier per-batch padding). Padded option slots are dropped from
    the results. scorer: the jitted scoring function (default `option_log_likelihoods`;
    `naive_option_log_likelihoods` is the reference path). progress(n) is called after each batch
    with its number of examples: give all examples at once (the sort then spans all of them).
    """
    _validate(inputs, options)
    if batch_size < 1:
        raise ValueError(f"rank_classify: batch_size must be >= 1, got {batch_size}")
    padding = padding or batching.DEFAULT_BUCKETS
    inputs = [list(x)[:max_input_length] if max_input_length else list(x) for x in inputs]
    score_fn = scorer or option_log_likelihoods
    results: list[RankResult | None] = [None] * len(inputs)
    keys = [batching.rank_sort_key(x, o, padding) for x, o in zip(inputs, options)]
    for chunk in batching.length_sorted_chunks(keys, batch_size):
        encoder_input_tokens = batching.pad_inputs([inputs[i] for i in chunk], batch_size, padding)
        encoder_input_tokens[len(chunk):] = 0  # filler rows: all padding, their scores are dropped
        option_tokens = batching.pad_options([options[i] for i in chunk], batch_size, padding)
        scores = np.asarray(score_fn(model, params, jnp.asarray(encoder_input_tokens), jnp.asarray(option_tokens),
                                     length_normalize=length_normalize), np.float64)
        for row, i in enumerate(chunk):
            example_scores = scores[row, :len(options[i])]
            results[i] = RankResult(scores=example_scores, choice=int(np.argmax(example_scores)))
        if progress is not None:
            progress(len(chunk))
    return results  # type: ignore[return-value]
