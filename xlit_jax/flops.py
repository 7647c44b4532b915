"""Training FLOPs of the mT5 encoder-decoder (explicit matmul counting) and model FLOPs utilization.

Forward FLOPs of one sequence (2 FLOPs per multiply-add; L = input length, T = target length,
D = emb_dim, J = num_heads * head_dim, F = mlp_dim, G = number of MLP input projections
(2 for gated-GELU), V = vocab_size):
  encoder layer:  2*L*D*3J (q, k, v) + 2*L*L*J (logits) + 2*L*L*J (values) + 2*L*J*D (out)
                  + 2*L*D*F*G + 2*L*F*D (MLP)
  decoder layer:  self-attention as above with T for L;
                  cross-attention 2*T*D*J (q) + 2*L*D*2J (k, v of the encoder states)
                  + 4*T*L*J (logits, values) + 2*T*J*D (out); MLP as above with T
  output layer:   2*T*D*V
A training step costs 3x the forward (backward = 2x forward); remat adds another forward, which is
not counted (MFU counts model FLOPs, not hardware FLOPs). Causal attention is counted in full,
as it is computed. Embedding lookups, norms and softmax are left out (a few percent at most).
"""
from __future__ import annotations

from typing import Any

from xlit_jax.models.mt5 import MT5Config

# Peak dense bfloat16 FLOP/s of one JAX device (TPU v2/v3 devices are single cores; v4 and later
# devices are chips). Matched against `device.device_kind` in order; first match wins.
PEAK_BF16_FLOPS_PER_DEVICE: tuple[tuple[str, float], ...] = (
    ("TPU v2", 22.5e12),
    ("TPU v3", 61.5e12),
    ("TPU v4 lite", 137.5e12),  # v4i
    ("TPU v4", 275e12),
    ("TPU v5 lite", 197e12),  # v5e
    ("TPU v5e", 197e12),
    ("TPU v5p", 459e12),
    ("TPU v5", 459e12),  # v5p reports "TPU v5"
    ("TPU v6 lite", 918e12),  # v6e (Trillium)
    ("TPU v6e", 918e12),
    ("H100 PCIe", 756e12),
    ("H100", 989e12),  # SXM
    ("H200", 989e12),
    ("GH200", 989e12),
    ("A100", 312e12),
    ("L4", 121e12),
    ("A10G", 70e12),
    ("V100", 125e12),
)


def peak_flops_per_device(device: Any) -> float | None:
    """Peak bf16 FLOP/s of a jax device (or a device-kind string); None when unknown (e.g. CPU)."""
    kind = device if isinstance(device, str) else getattr(device, "device_kind", "")
    for name, peak in PEAK_BF16_FLOPS_PER_DEVICE:
        if name.lower() in kind.lower():
            return peak
    return None


def forward_flops_per_sequence(config: MT5Config, encoder_length: int, decoder_length: int) -> float:
    """Matmul FLOPs of one forward pass over one (input, target) pair."""
    L, T = encoder_length, decoder_length
    D, J, F, V = config.emb_dim, config.num_heads * config.head_dim, config.mlp_dim, config.vocab_size
    G = len(config.mlp_activations)

    def self_attention(n: int) -> float:
        return 2 * n * D * 3 * J + 4 * n * n * J + 2 * n * J * D

    def mlp(n: int) -> float:
        return 2 * n * D * F * G + 2 * n * F * D

    encoder_layer = self_attention(L) + mlp(L)
    cross_attention = 2 * T * D * J + 2 * L * D * 2 * J + 4 * T * L * J + 2 * T * J * D
    decoder_layer = self_attention(T) + cross_attention + mlp(T)
    return float(config.num_encoder_layers * encoder_layer + config.num_decoder_layers * decoder_layer + 2 * T * D * V)


def train_flops_per_sequence(config: MT5Config, encoder_length: int, decoder_length: int) -> float:
    """Model FLOPs of one training step per sequence: 3x the forward (forward + backward)."""
    return 3.0 * forward_flops_per_sequence(config, encoder_length, decoder_length)


def mfu(flops_per_step: float, step_seconds: float, peak_flops_per_device: float, num_devices: int = 1) -> float:
    """Model FLOPs utilization: achieved model FLOP/s over the devices' peak FLOP/s."""
    if step_seconds <= 0 or peak_flops_per_device <= 0 or num_devices <= 0:
        raise ValueError(f"mfu: need positive step_seconds, peak and num_devices "
                         f"(got {step_seconds}, {peak_flops_per_device}, {num_devices})")
    return flops_per_step / step_seconds / (peak_flops_per_device * num_devices)
