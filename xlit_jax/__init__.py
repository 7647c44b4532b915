"""xlit_jax: the TensorFlow-free library (model, partitioning, training, decoding, scoring,
checkpoints, metrics, reports)."""

__version__ = "0.1.0"
