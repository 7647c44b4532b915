"""seqio task or mixture -> t5x feature batches (the only xlit_jax module that uses seqio/TF).

seqio and TensorFlow are imported inside functions, so importing this module is free.
Resumption: the dataset is rebuilt deterministically from the seed and `start_position`
batches are skipped with tf.data's `skip` (the skipped batches are still read and
preprocessed, so resuming late in a long run costs input time; the pre-tokenized cache,
`xlit_jax.data.cached`, resumes in O(1)).
"""
from __future__ import annotations

import importlib
from typing import Any, Iterator, Mapping, Sequence

import gin
import numpy as np

from xlit_jax.data.features import feature_names


DEFAULT_REGISTER_FN = "seqio_tasks.mixtures.register_all"


def _call_dotted(name: str) -> Any:
    module_name, _, function_name = name.rpartition(".")
    try:
        function = getattr(importlib.import_module(module_name), function_name)
    except (ImportError, AttributeError) as err:
        raise ValueError(f"register_fn {name!r} cannot be imported: {err}") from err
    return function()


def _ensure_registered(name: str, import_modules: Sequence[str], register_fn: str | None) -> None:
    """Import registry modules; call register_fn when `name` is still not a task or mixture."""
    import seqio

    for module in import_modules:
        importlib.import_module(module)

    def known() -> set[str]:
        return set(seqio.TaskRegistry.names()) | set(seqio.MixtureRegistry.names())

    if name not in known() and register_fn:
        _call_dotted(register_fn)
    if name not in known():
        raise ValueError(
            f"no seqio task or mixture named {name!r} is registered "
            f"(imported {list(import_modules)}, register_fn {register_fn!r}; {len(known())} registered)"
        )


def converted_dataset(
    mixture_or_task_name: str,
    task_feature_lengths: Mapping[str, int],
    split: str = "train",
    pack: bool = True,
    shuffle: bool = False,
    seed: int | None = None,
    num_epochs: int | None = 1,
    process_index: int = 0,
    process_count: int = 1,
    use_cached: bool = False,
    import_modules: Sequence[str] = (),
    register_fn: str | None = DEFAULT_REGISTER_FN,
) -> Any:
    """An unbatched tf.data.Dataset of encoder-decoder model features for one process's shard."""
    import seqio

    _ensure_registered(mixture_or_task_name, import_modules, register_fn)
    return seqio.get_dataset(
        mixture_or_task_name,
        task_feature_lengths=dict(task_feature_lengths),
        feature_converter=seqio.EncDecFeatureConverter(pack=pack),
        dataset_split=split,
        use_cached=use_cached,
        shuffle=shuffle,
        num_epochs=num_epochs,
        shard_info=seqio.ShardInfo(index=process_index, num_shards=process_count),
        seed=seed,
        verbose=False,
    )


def converted_examples(dataset: Any, pack: bool, limit: int | None = None) -> Iterator[dict[str, np.ndarray]]:
    """Numpy rows (model features only, int32) from a converted dataset, at most `limit`."""
    names = feature_names(pack)
    for count, example in enumerate(dataset.as_numpy_iterator()):
        if limit is not None and count >= limit:
            return
        yield {name: np.asarray(example[name], np.int32) for name in names}


@gin.configurable(module="xlit")
class SeqioData:
    """Batches of a seqio task or mixture; deterministic for a seed, resumable by position."""

    def __init__(
        self,
        mixture_or_task_name: str = gin.REQUIRED,
        task_feature_lengths: Mapping[str, int] = gin.REQUIRED,
        split: str = "train",
        shuffle: bool = True,
        seed: int = 0,
        pack: bool = True,
        use_cached: bool = False,
        repeat: bool = True,
        import_modules: Sequence[str] = (),
        register_fn: str | None = DEFAULT_REGISTER_FN,
    ):
        self.mixture_or_task_name = mixture_or_task_name
        self.task_feature_lengths = dict(task_feature_lengths)
        self.split, self.shuffle, self.seed, self.pack = split, shuffle, int(seed), pack
        self.use_cached, self.repeat, self.import_modules = use_cached, repeat, tuple(import_modules)
        self.register_fn = register_fn

    def batches(
        self, global_batch_size: int, process_index: int = 0, process_count: int = 1, start_position: int = 0
    ) -> Iterator[dict[str, np.ndarray]]:
        """This process's batches (global_batch_size / process_count rows) from batch start_position on."""
        if global_batch_size % process_count:
            raise ValueError(f"batch size {global_batch_size} is not divisible by the process count {process_count}")
        dataset = converted_dataset(
            self.mixture_or_task_name,
            self.task_feature_lengths,
            split=self.split,
            pack=self.pack,
            shuffle=self.shuffle,
            seed=self.seed,
            num_epochs=None if self.repeat else 1,
            process_index=process_index,
            process_count=process_count,
            use_cached=self.use_cached,
            import_modules=self.import_modules,
            register_fn=self.register_fn,
        )
        names = feature_names(self.pack)
        dataset = dataset.batch(global_batch_size // process_count, drop_remainder=True).skip(int(start_position))
        for batch in dataset.as_numpy_iterator():
            yield {name: np.asarray(batch[name], np.int32) for name in names}
