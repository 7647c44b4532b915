"""The training loss: cross entropy with t5x's z-loss and label smoothing, and loss normalization.

Normalization (t5x's `loss_normalizing_factor`), always over the whole GLOBAL batch, so that
N gradient-accumulation microbatches give exactly the gradient of one big batch:
  "num_real_target_tokens"   divide the weighted sum by the sum of loss weights (default)
  "num_total_target_tokens"  divide by batch * target_length (padding included)
  "average_per_sequence"     each sequence (each packed segment) weighs 1: token weights are
                             divided by their sequence's weight sum, then the sum is divided by
                             the number of sequences
  a number                   divide by that constant (T5-MTF compatibility)
  "none" / None              no normalization (the weighted sum)
"""
from __future__ import annotations

import functools
import math
from typing import Mapping

import jax
import jax.numpy as jnp

Array = jax.Array
LossNormalization = str | float | int | None

NORMALIZATION_MODES = ("num_real_target_tokens", "num_total_target_tokens", "average_per_sequence", "none")


def _smoothing_constants(vocab_size: int, label_smoothing: float) -> tuple[float, float, float]:
    """(confidence, low_confidence, normalizing constant) of t5x's soft targets."""
    confidence = 1.0 - label_smoothing
    low_confidence = label_smoothing / (vocab_size - 1)
    normalizing_constant = -(confidence * math.log(confidence)
                             + (vocab_size - 1) * low_confidence * math.log(low_confidence + 1e-20))
    return confidence, low_confidence, normalizing_constant


@functools.partial(jax.custom_vjp, nondiff_argnums=(2, 3))
def _token_loss(logits: Array, targets: Array, z_loss: float, label_smoothing: float) -> tuple[Array, Array]:
    """Unweighted per-token (loss including z-loss, z-loss), both [batch, length]."""
    return _token_loss_fwd(logits, targets, z_loss, label_smoothing)[0]


def _token_loss_fwd(logits, targets, z_loss, label_smoothing):
    logits = logits.astype(jnp.float32)
    vocab_size = logits.shape[-1]
    max_logit = jax.lax.stop_gradient(jnp.max(logits, axis=-1, keepdims=True))
    log_z = jnp.log(jnp.sum(jnp.exp(logits - max_logit), axis=-1)) + max_logit[..., 0]
    target_logit = jnp.take_along_axis(logits, targets[..., None].astype(jnp.int32), axis=-1)[..., 0]
    if label_smoothing:
        confidence, low, constant = _smoothing_constants(vocab_size, label_smoothing)
        sum_log_probs = jnp.sum(logits, axis=-1) - vocab_size * log_z
        cross_entropy = -(confidence - low) * (target_logit - log_z) - low * sum_log_probs - constant
    else:
        cross_entropy = log_z - target_logit
    token_z_loss = z_loss * jnp.square(log_z)
    return (cross_entropy + token_z_loss, token_z_loss), (logits, targets, log_z)


def _token_loss_bwd(z_loss, label_smoothing, residuals, cotangents):
    logits, targets, log_z = residuals
    g_loss, g_z = cotangents
    vocab_size = logits.shape[-1]
    probs = jnp.exp(logits - log_z[..., None])
    is_target = jax.lax.broadcasted_iota(jnp.int32, logits.shape, logits.ndim - 1) == targets[..., None]
    if label_smoothing:
        confidence, low, _ = _smoothing_constants(vocab_size, label_smoothing)
        soft_targets = jnp.where(is_target, confidence, low)
    else:
        soft_targets = is_target.astype(jnp.float32)
    z_coefficient = 2.0 * z_loss * log_z
    scale = (g_loss * (1.0 + z_coefficient) + g_z * z_coefficient)[..., None]
    g_logits = probs * scale - g_loss[..., None] * soft_targets
    return g_logits, None


_token_loss.defvjp(_token_loss_fwd, _token_loss_bwd)


def cross_entropy_with_z_loss(logits: Array, targets: Array, weights: Array | None, *, z_loss: float = 1e-4,
                              label_smoothing: float = 0.0) -> tuple[Array, Array]:
    """Weighted per-token (loss, z_loss) [batch, length]; loss = cross entropy + z_loss * log(Z)^2.

    With label smoothing the cross entropy is against t5x's soft targets (confidence 1 - s on the
    target, s / (V - 1) elsewhere) minus their entropy, so a perfect prediction scores 0. Integer
    gather instead of one-hot targets; the gradient is a fused softmax - soft_targets.
    """
    if logits.ndim != targets.ndim + 1:
        raise ValueError(f"cross_entropy_with_z_loss: logits shape {logits.shape} vs targets shape {targets.shape}")
    if not 0.0 <= label_smoothing < 1.0:
        raise ValueError(f"label_smoothing must be in [0, 1), got {label_smoothing}")
    loss, token_z_loss = _token_loss(logits, targets, float(z_loss), float(label_smoothing))
    if weights is not None:
        weights = weights.astype(jnp.float32)
        loss, token_z_loss = loss * weights, token_z_loss * weights
    return loss, token_z_loss


def _segment_weight_sums(weights: Array, segment_ids: Array | None) -> Array:
    """Each token's sum of weights over its sequence (its packed segment when segment ids are given)."""
    if segment_ids is None:
        return jnp.broadcast_to(jnp.sum(weights, axis=-1, keepdims=True), weights.shape)
    same_segment = (segment_ids[:, :, None] == segment_ids[:, None, :]) & (segment_ids[:, None, :] > 0)
    return jnp.einsum("bqk,bk->bq", same_segment.astype(weights.dtype), weights)


def loss_weights_and_normalizer(batch: Mapping[str, Array], loss_normalization: LossNormalization
                                ) -> tuple[Array, Array | float]:
    """Per-token loss weights [batch, length] and the divisor of their weighted sum (global batch)."""
    targets = batch["decoder_target_tokens"]
    weights = batch.get("decoder_loss_weights")
    weights = (targets > 0).astype(jnp.float32) if weights is None else weights.astype(jnp.float32)
    if loss_normalization is None:
        return weights, 1.0
    if isinstance(loss_normalization, (int, float)) and not isinstance(loss_normalization, bool):
        if loss_normalization <= 0:
            raise ValueError(f"loss_normalization constant must be positive, got {loss_normalization}")
        return weights, float(loss_normalization)
    if not isinstance(loss_normalization, str):
        raise ValueError(f"loss_normalization must be one of {NORMALIZATION_MODES} or a number, "
                         f"got {loss_normalization!r}")
    mode = loss_normalization.lower()
    if mode == "num_real_target_tokens":
        return weights, jnp.sum(weights)
    if mode == "num_total_target_tokens":
        return weights, float(math.prod(targets.shape))
    if mode == "average_per_sequence":
        sums = _segment_weight_sums(weights, batch.get("decoder_segment_ids"))
        weights = jnp.where(sums > 0, weights / jnp.where(sums > 0, sums, 1.0), 0.0)
        return weights, jnp.sum(weights)
    if mode == "none":
        return weights, 1.0
    raise ValueError(f"loss_normalization must be one of {NORMALIZATION_MODES} or a number, got {loss_normalization!r}")


def num_sequences(batch: Mapping[str, Array]) -> Array:
    """Number of target sequences with at least one real token (packed segments counted separately)."""
    targets = batch["decoder_target_tokens"]
    segment_ids = batch.get("decoder_segment_ids")
    if segment_ids is None:
        return jnp.sum(jnp.any(targets > 0, axis=-1)).astype(jnp.float32)
    starts = (segment_ids > 0) & jnp.concatenate(
        [jnp.ones_like(segment_ids[:, :1], bool), segment_ids[:, 1:] != segment_ids[:, :-1]], axis=-1)
    return jnp.sum(starts).astype(jnp.float32)


def correct_predictions(logits: Array, targets: Array, mask: Array) -> Array:
    """Number of masked positions whose target has the highest logit (a tie for highest counts).

    Compares the target's logit with the row maximum instead of taking an argmax: the same
    result except on exact ties, and a plain max-reduce is several times cheaper on CPU.
    """
    logits = jax.lax.stop_gradient(logits)
    target_logit = jnp.take_along_axis(logits, targets[..., None].astype(jnp.int32), axis=-1)[..., 0]
    return jnp.sum((target_logit >= jnp.max(logits, axis=-1)) & mask).astype(jnp.float32)
