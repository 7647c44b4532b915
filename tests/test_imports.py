"""The core library imports and builds a model without TensorFlow or seqio."""
import subprocess
import sys

CODE = """
import sys
import xlit_jax, xlit_jax.models.mt5, xlit_jax.checkpoints, xlit_jax.cli
import jax
from xlit_jax.models import mt5
mt5.init_params(mt5.MT5Config(vocab_size=32, emb_dim=8, num_heads=2, head_dim=4, mlp_dim=8,
                              num_encoder_layers=1, num_decoder_layers=1), jax.random.key(0))
bad = sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'seqio', 'tensorflow_text'))
assert not bad, bad
print('ok')
"""


def test_core_imports_without_tensorflow():
    result = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().endswith("ok")
