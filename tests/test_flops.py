"""FLOPs formula against XLA's own count of the compiled forward pass; MFU arithmetic; peak table."""
import jax
import jax.numpy as jnp
import pytest

from xlit_jax import flops
from xlit_jax.models import mt5


@pytest.mark.parametrize("config,input_length,target_length", [
    (mt5.MT5Config(vocab_size=512, emb_dim=64, num_heads=4, head_dim=16, mlp_dim=128, num_encoder_layers=2,
                   num_decoder_layers=2), 32, 16),
    (mt5.MT5Config(vocab_size=1000, emb_dim=128, num_heads=2, head_dim=32, mlp_dim=256, num_encoder_layers=1,
                   num_decoder_layers=3, mlp_activations=("relu",)), 24, 40),
])
def test_forward_flops_match_xla_cost_analysis(config, input_length, target_length):
    params = mt5.init_params(config, jax.random.PRNGKey(0))
    model = mt5.Transformer(config)
    batch = 2
    forward = jax.jit(lambda p, e, d: model.apply({"params": p}, e, d, d, enable_dropout=False))
    enc, dec = jnp.ones((batch, input_length), jnp.int32), jnp.ones((batch, target_length), jnp.int32)
    analysis = forward.lower(params, enc, dec).compile().cost_analysis()
    analysis = analysis[0] if isinstance(analysis, list) else analysis
    ours = flops.forward_flops_per_sequence(config, input_length, target_length) * batch
    # XLA also counts softmax, norms and activations; matmuls are all but a few percent.
    assert 1.0 <= analysis["flops"] / ours < 1.06
    assert flops.train_flops_per_sequence(config, input_length, target_length) == 3 * ours / batch


def test_mfu_and_peak_table():
    assert flops.mfu(1e15, 2.0, 250e12, num_devices=2) == pytest.approx(1.0)
    assert flops.mfu(1e12, 1.0, 1e12) == pytest.approx(1.0)
    assert flops.peak_flops_per_device("TPU v4") == 275e12
    assert flops.peak_flops_per_device("TPU v5 lite") == 197e12
    assert flops.peak_flops_per_device("NVIDIA H100 80GB HBM3") == 989e12
    assert flops.peak_flops_per_device("NVIDIA A100-SXM4-40GB") == 312e12
    assert flops.peak_flops_per_device(jax.devices("cpu")[0]) is None
    with pytest.raises(ValueError):
        flops.mfu(1.0, 0.0, 1e12)
