"""Training input: t5x encoder-decoder feature batches from seqio (TF) or a TF-free cache."""
from xlit_jax.data.cached import CachedData, read_cache_index, write_cache
from xlit_jax.data.features import BatchSource, batch_spec, check_batch, feature_names

__all__ = ["BatchSource", "CachedData", "batch_spec", "check_batch", "feature_names", "read_cache_index", "write_cache"]
