"""Training input: t5x encoder-decoder feature batches from seqio (TF) or TF-free ArrayRecord records."""
from xlit_jax.data.features import BatchSource, batch_spec, check_batch, feature_names
from xlit_jax.data.records import RecordData, read_index, write_records

__all__ = ["BatchSource", "RecordData", "batch_spec", "check_batch", "feature_names", "read_index", "write_records"]
