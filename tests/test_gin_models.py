"""gin/models/mt5_*.gin: each parses, binds MODEL_CONFIG to the stated mT5 dimensions, and gives the
published parameter counts (computed from shapes, nothing allocated)."""
from __future__ import annotations

import gin
import pytest

from xlit_jax.gin_utils import shipped_gin_dir
from xlit_jax.models.mt5 import MT5Config, count_params, param_shapes

# size: (emb_dim, mlp_dim, num_heads, layers per stack, published parameter count)
SIZES = {
    "small": (512, 1024, 6, 8, 300e6),
    "base": (768, 2048, 12, 12, 580e6),
    "large": (1024, 2816, 16, 24, 1.2e9),
    "xl": (2048, 5120, 32, 24, 3.7e9),
    "xxl": (4096, 10240, 64, 24, 13e9),
}


@gin.configurable(module="xlit_test")
def model_config_probe(model_config=None):
    return model_config


def parse_model_gin(size: str) -> MT5Config:
    gin.clear_config()
    try:
        gin.parse_config_file(str(shipped_gin_dir() / "models" / f"mt5_{size}.gin"))
        gin.parse_config("xlit_test.model_config_probe.model_config = %MODEL_CONFIG")
        return model_config_probe()
    finally:
        gin.clear_config()


@pytest.mark.parametrize("size", sorted(SIZES))
def test_released_sizes(size):
    emb_dim, mlp_dim, heads, layers, published = SIZES[size]
    config = parse_model_gin(size)
    assert isinstance(config, MT5Config)
    assert (config.vocab_size, config.emb_dim, config.mlp_dim, config.num_heads, config.head_dim) == \
        (250112, emb_dim, mlp_dim, heads, 64)
    assert config.num_encoder_layers == config.num_decoder_layers == layers
    assert config.mlp_activations == ("gelu", "linear") and not config.logits_via_embedding
    assert count_params(param_shapes(config)) == pytest.approx(published, rel=0.03)


def test_tiny():
    config = parse_model_gin("tiny")
    assert (config.vocab_size, config.emb_dim, config.num_heads, config.head_dim, config.mlp_dim) == (4096, 64, 4, 16, 128)
    assert count_params(param_shapes(config)) < 1_000_000
