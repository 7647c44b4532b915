"""Loss: cross entropy + z-loss + label smoothing against a NumPy one-hot reference; normalization modes."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from xlit_jax import losses


def _numpy_reference(logits, targets, weights, z_loss, label_smoothing):
    """t5x's formula written with explicit soft one-hot targets (float64)."""
    logits = logits.astype(np.float64)
    vocab = logits.shape[-1]
    confidence = 1.0 - label_smoothing
    low = label_smoothing / (vocab - 1)
    soft = np.full(logits.shape, low)
    np.put_along_axis(soft, targets[..., None], confidence, axis=-1)
    m = logits.max(-1, keepdims=True)
    log_z = (np.log(np.exp(logits - m).sum(-1, keepdims=True)) + m)[..., 0]
    log_probs = logits - log_z[..., None]
    constant = -(confidence * np.log(confidence) + (vocab - 1) * low * np.log(low + 1e-20))
    cross_entropy = -(soft * log_probs).sum(-1) - constant
    z = z_loss * log_z ** 2
    return (cross_entropy + z) * weights, z * weights


@pytest.mark.parametrize("label_smoothing", [0.0, 0.1])
@pytest.mark.parametrize("z_loss", [0.0, 1e-4, 0.5])
def test_cross_entropy_matches_numpy_reference_and_gradient(label_smoothing, z_loss):
    rng = np.random.default_rng(0)
    logits = (rng.normal(size=(3, 5, 17)) * 4).astype(np.float32)
    targets = rng.integers(0, 17, size=(3, 5))
    weights = rng.random((3, 5)).astype(np.float32)
    loss, z = losses.cross_entropy_with_z_loss(jnp.asarray(logits), jnp.asarray(targets), jnp.asarray(weights),
                                               z_loss=z_loss, label_smoothing=label_smoothing)
    ref_loss, ref_z = _numpy_reference(logits, targets, weights, z_loss, label_smoothing)
    np.testing.assert_allclose(loss, ref_loss, rtol=2e-5, atol=2e-5)
    np.testing.assert_allclose(z, ref_z, rtol=2e-5, atol=1e-7)

    def autodiff_reference(l):  # jax autodiff of the plain formula (no custom gradient)
        vocab = l.shape[-1]
        confidence, low = 1.0 - label_smoothing, label_smoothing / (vocab - 1)
        soft = jax.nn.one_hot(targets, vocab) * (confidence - low) + low
        log_z = jax.nn.logsumexp(l, axis=-1)
        return jnp.sum((-(soft * (l - log_z[..., None])).sum(-1) + z_loss * log_z ** 2) * weights)

    grad = jax.grad(lambda l: losses.cross_entropy_with_z_loss(l, targets, weights, z_loss=z_loss,
                                                               label_smoothing=label_smoothing)[0].sum())(logits)
    np.testing.assert_allclose(grad, jax.grad(autodiff_reference)(jnp.asarray(logits)), rtol=1e-4, atol=1e-6)


def test_label_smoothing_perfect_prediction_scores_zero():
    vocab, s = 11, 0.2
    targets = np.array([[3, 7]])
    soft = np.full((1, 2, vocab), s / (vocab - 1))
    np.put_along_axis(soft, targets[..., None], 1 - s, axis=-1)
    loss, _ = losses.cross_entropy_with_z_loss(jnp.log(jnp.asarray(soft, jnp.float32)), jnp.asarray(targets), None,
                                               z_loss=0.0, label_smoothing=s)
    np.testing.assert_allclose(loss, 0.0, atol=1e-5)


def test_z_loss_gradient_through_second_output():
    rng = np.random.default_rng(1)
    logits = jnp.asarray(rng.normal(size=(2, 3, 9)), jnp.float32)
    targets = jnp.asarray(rng.integers(0, 9, (2, 3)))
    grad = jax.grad(lambda l: losses.cross_entropy_with_z_loss(l, targets, None, z_loss=0.3)[1].sum())(logits)
    expected = jax.grad(lambda l: (0.3 * jax.nn.logsumexp(l, -1) ** 2).sum())(logits)
    np.testing.assert_allclose(grad, expected, rtol=1e-5, atol=1e-7)


def _batch(packed: bool):
    targets = np.array([[5, 6, 1, 7, 1, 0], [8, 9, 4, 3, 1, 0]], np.int32)
    batch = {"decoder_target_tokens": targets, "decoder_loss_weights": (targets > 0).astype(np.int32)}
    if packed:
        batch["decoder_segment_ids"] = np.array([[1, 1, 1, 2, 2, 0], [1, 1, 1, 1, 1, 0]], np.int32)
        batch["decoder_positions"] = np.array([[0, 1, 2, 0, 1, 0], [0, 1, 2, 3, 4, 0]], np.int32)
    return {k: jnp.asarray(v) for k, v in batch.items()}


def test_normalization_modes():
    batch = _batch(packed=False)
    weights, factor = losses.loss_weights_and_normalizer(batch, "num_real_target_tokens")
    assert float(factor) == 10.0 and weights.dtype == jnp.float32
    assert float(losses.loss_weights_and_normalizer(batch, "num_total_target_tokens")[1]) == 12.0
    assert losses.loss_weights_and_normalizer(batch, "none")[1] == 1.0
    assert losses.loss_weights_and_normalizer(batch, None)[1] == 1.0
    assert losses.loss_weights_and_normalizer(batch, 37.5)[1] == 37.5
    weights, factor = losses.loss_weights_and_normalizer(batch, "average_per_sequence")
    np.testing.assert_allclose(weights.sum(-1), [1.0, 1.0], rtol=1e-6)
    np.testing.assert_allclose(weights[0, :5], 0.2, rtol=1e-6)
    assert float(factor) == pytest.approx(2.0)
    with pytest.raises(ValueError, match="loss_normalization"):
        losses.loss_weights_and_normalizer(batch, "per_token")


def test_average_per_sequence_counts_packed_segments():
    batch = _batch(packed=True)
    weights, factor = losses.loss_weights_and_normalizer(batch, "AVERAGE_PER_SEQUENCE")
    np.testing.assert_allclose(weights[0], [1 / 3, 1 / 3, 1 / 3, 0.5, 0.5, 0.0], rtol=1e-6)
    np.testing.assert_allclose(weights[1], [0.2] * 5 + [0.0], rtol=1e-6)
    assert float(factor) == pytest.approx(3.0)
    assert float(losses.num_sequences(batch)) == 3.0
    assert float(losses.num_sequences(_batch(packed=False))) == 2.0


def test_correct_predictions_counts_masked_argmax_hits():
    logits = jnp.asarray([[[0.1, 2.0, 0.3], [1.0, 0.0, 0.5], [0.0, 0.0, 3.0]]])
    targets = jnp.asarray([[1, 2, 2]])
    mask = jnp.asarray([[True, True, False]])
    assert float(losses.correct_predictions(logits, targets, mask)) == 1.0
