"""seqio task or mixture -> t5x feature batches (the only xlit_jax module that uses seqio/TF).

seqio and TensorFlow are imported inside functions, so importing this module is free. Tasks and
mixtures must be registered before use (the CLI registers them once, before gin is parsed); this
module never imports a registry.
Resumption: the dataset is rebuilt deterministically from the seed and `start_position` batches
are skipped with tf.data's `skip`. The skipped batches are still read and preprocessed, so a skip
past `max_resume_skip` batches is refused: train from the pre-tokenized cache, which resumes in O(1).
"""
from __future__ import annotations

import difflib
from typing import Any, Iterator, Mapping

import gin
import numpy as np

from xlit_jax.data.features import check_task_feature_lengths, feature_names

CACHE_COMMAND = "xlit cache --mixture NAME --output DIR"


def registered_names() -> list[str]:
    """Names of every registered seqio task and mixture."""
    import seqio

    return sorted(set(seqio.TaskRegistry.names()) | set(seqio.MixtureRegistry.names()))


def check_registered(name: str) -> None:
    """ValueError (with close names) when `name` is not a registered seqio task or mixture."""
    names = registered_names()
    if name in names:
        return
    close = difflib.get_close_matches(str(name), names, n=5, cutoff=0.6)
    hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    raise ValueError(f"no seqio task or mixture named {name!r} is registered ({len(names)} registered){hint} "
                     "(`xlit tasks` lists them)")


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
) -> Any:
    """An unbatched tf.data.Dataset of encoder-decoder model features for one process's shard."""
    import seqio

    lengths = check_task_feature_lengths(task_feature_lengths, f"seqio task {mixture_or_task_name!r}")
    check_registered(mixture_or_task_name)
    return seqio.get_dataset(
        mixture_or_task_name,
        task_feature_lengths=lengths,
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
    """Batches of a registered seqio task or mixture; deterministic for a seed, resumable by position."""

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
        max_resume_skip: int | None = 2000,
    ):
        self.mixture_or_task_name = mixture_or_task_name
        self.task_feature_lengths = check_task_feature_lengths(
            task_feature_lengths, f"xlit.SeqioData({mixture_or_task_name!r})")
        self.split, self.shuffle, self.seed, self.pack = split, shuffle, int(seed), pack
        self.use_cached, self.repeat = use_cached, repeat
        self.max_resume_skip = max_resume_skip

    def validate(self) -> None:
        """Cheap checks before any model is built: the task or mixture is registered."""
        check_registered(self.mixture_or_task_name)

    def check_resume(self, start_position: int) -> None:
        """ValueError when resuming at `start_position` would skip more batches than max_resume_skip."""
        if self.max_resume_skip is not None and start_position > self.max_resume_skip:
            raise ValueError(
                f"resuming {self.mixture_or_task_name!r} at batch {start_position} would re-read and skip "
                f"{start_position} batches with tf.data (more than xlit.SeqioData.max_resume_skip="
                f"{self.max_resume_skip}). Train from the pre-tokenized cache instead, which resumes at once: "
                f"`{CACHE_COMMAND}` (NAME={self.mixture_or_task_name}), then train with runs/finetune_cached.gin "
                "and --gin.CACHED_DATA_DIR=DIR; or raise max_resume_skip to accept the wait"
            )

    def batches(
        self, global_batch_size: int, process_index: int = 0, process_count: int = 1, start_position: int = 0
    ) -> Iterator[dict[str, np.ndarray]]:
        """This process's batches (global_batch_size / process_count rows) from batch start_position on."""
        if global_batch_size % process_count:
            raise ValueError(f"batch size {global_batch_size} is not divisible by the process count {process_count}")
        self.check_resume(int(start_position))
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
        )
        dataset = dataset.batch(global_batch_size // process_count, drop_remainder=True).skip(int(start_position))
        return _numpy_batches(dataset, feature_names(self.pack))


def _numpy_batches(dataset: Any, names: tuple[str, ...]) -> Iterator[dict[str, np.ndarray]]:
    for batch in dataset.as_numpy_iterator():
        yield {name: np.asarray(batch[name], np.int32) for name in names}
