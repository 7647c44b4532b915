"""The cache job: a seqio task or mixture -> packed model rows as sharded ArrayRecord + index.json.

One unit of work is one output shard: shard s of N reads seqio's ShardInfo(s, N) part of the
split, tokenizes and packs it with seqio's EncDecFeatureConverter, and writes
`rows-s-of-N.array_record`; the index adds the per-task example counts of the split. The shards are
independent, so the job is an Apache Beam pipeline (Create(shards) | Reshuffle | ParDo(write) |
ToList | write index) that runs on DirectRunner on one machine or on Dataflow / Flink / Spark
with their pipeline options; `runner="InProcess"` runs the same shard function in a loop
without Beam. Output is a pure function of the arguments, so a retried shard rewrites the
same bytes. The index (`xlit_jax.data.records.write_index`) is written last, when every
shard is complete. Reading is `xlit.RecordData` (TF-free).
"""
from __future__ import annotations

import dataclasses
import difflib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

from xlit_jax.data import records
from xlit_jax.data import features
from xlit_jax.data.features import feature_names

IN_PROCESS = "InProcess"


@dataclasses.dataclass(frozen=True)
class CacheJob:
    """What the cache job writes: which data, how tokenized and packed, where, in how many shards."""

    mixture_or_task_name: str
    output_dir: str
    vocabulary_path: str
    task_feature_lengths: dict[str, int]
    split: str = "train"
    pack: bool = True
    num_shards: int = 1
    num_examples: int | None = None  # model rows to write in all (None: one pass over the split)
    shuffle: bool = False
    seed: int = 0
    count_examples: bool = True      # per-task input example counts of the split (the sources' own counts)
    register: Callable[[], Any] | None = None  # registers the tasks (run again in every Beam worker)

    def __post_init__(self):
        features.check_task_feature_lengths(self.task_feature_lengths, "xlit cache --task_feature_lengths")
        if self.num_shards <= 0:
            raise ValueError(f"num_shards must be positive, got {self.num_shards}")
        if self.num_examples is not None and self.num_examples < self.num_shards:
            raise ValueError(f"num_examples {self.num_examples} is fewer than num_shards {self.num_shards}")

    def rows_of_shard(self, shard: int) -> int | None:
        """How many rows shard `shard` writes (None: all its rows)."""
        if self.num_examples is None:
            return None
        base, extra = divmod(self.num_examples, self.num_shards)
        return base + (1 if shard < extra else 0)


def _converted_rows(job: CacheJob, shard: int) -> Iterator[dict]:
    """Model rows (tokenized, packed per job.pack) of seqio's part `shard` of `num_shards`."""
    import seqio

    dataset = seqio.get_dataset(
        job.mixture_or_task_name,
        task_feature_lengths=dict(job.task_feature_lengths),
        feature_converter=seqio.EncDecFeatureConverter(pack=job.pack),
        dataset_split=job.split,
        shuffle=job.shuffle,
        num_epochs=None if job.num_examples is not None else 1,
        shard_info=seqio.ShardInfo(index=shard, num_shards=job.num_shards),
        seed=job.seed,
        verbose=False,
    )
    names = feature_names(job.pack)
    limit = job.rows_of_shard(shard)
    for count, row in enumerate(dataset.as_numpy_iterator()):
        if limit is not None and count >= limit:
            return
        yield {name: row[name] for name in names}


def _examples_per_task(job: CacheJob) -> dict[str, int]:
    """Input examples of each task of the mixture in the split: the source's own count (seqio's
    num_input_examples, which the registry reads without rendering), else one pass over the task."""
    import seqio

    provider = seqio.get_mixture_or_task(job.mixture_or_task_name)
    tasks = provider.tasks if isinstance(provider, seqio.Mixture) else [provider]
    counts = {}
    for task in tasks:
        if job.split not in task.splits:
            continue
        count = task.num_input_examples(job.split)
        if count is None:
            dataset = task.get_dataset(dict(job.task_feature_lengths), split=job.split, shuffle=False, num_epochs=1)
            count = dataset.reduce(0, lambda n, _: n + 1).numpy()
        counts[task.name] = int(count)
    return counts


def write_shard(job: CacheJob, shard: int) -> dict:
    """Write shard `shard` of the job; return its index entry."""
    layout = records.record_layout(job.task_feature_lengths, job.pack)
    name = records.shard_file_name(shard, job.num_shards)
    destination = Path(job.output_dir) / name
    destination.parent.mkdir(parents=True, exist_ok=True)
    # Written locally, then moved: a half-written shard never carries the final name.
    with tempfile.TemporaryDirectory() as scratch:
        entry = records.write_shard(_converted_rows(job, shard), Path(scratch) / name, layout)
        shutil.move(str(Path(scratch) / name), destination)
    return entry


def write_index(job: CacheJob, shard_entries: Sequence[dict]) -> dict:
    """Write index.json: the shards, the per-task example counts, the vocabulary fingerprint."""
    shards = [dict(entry) for entry in shard_entries]
    if len(shards) != job.num_shards:
        raise RuntimeError(f"cache job wrote {len(shards)} of {job.num_shards} shards to {job.output_dir}")
    return records.write_index(
        job.output_dir, shards=shards, task_feature_lengths=job.task_feature_lengths, pack=job.pack,
        mixture_or_task_name=job.mixture_or_task_name, split=job.split, vocabulary_path=job.vocabulary_path,
        vocabulary_sha256=records.vocabulary_fingerprint(job.vocabulary_path),
        examples_per_task=_examples_per_task(job) if job.count_examples else None,
        metadata={"num_examples": job.num_examples, "shuffle": job.shuffle, "seed": job.seed},
    )


class _WriteShard:
    """Beam DoFn body: registers the tasks once per worker, then writes one shard per element."""

    def __init__(self, job: CacheJob):
        self.job = job

    def setup(self) -> None:
        """Register the tasks in this worker process."""
        if self.job.register is not None:
            self.job.register()

    def process(self, shard: int) -> Iterator[dict]:
        """Write one shard; emit its index entry."""
        yield write_shard(self.job, shard)


def _prepare_output(job: CacheJob, overwrite: bool) -> None:
    output = Path(job.output_dir)
    if (output / records.INDEX_FILE).exists() and not overwrite:
        raise FileExistsError(f"{output} already holds a cache ({records.INDEX_FILE}); pass --overwrite to replace it")
    output.mkdir(parents=True, exist_ok=True)
    for stale in list(output.glob("rows-*.array_record")) + [output / records.INDEX_FILE]:
        stale.unlink(missing_ok=True)


def run(job: CacheJob, runner: str = "DirectRunner", pipeline_args: Sequence[str] = (),
        overwrite: bool = False) -> dict:
    """Run the job on `runner` (a Beam runner name, or "InProcess"); return the index."""
    import seqio

    if job.register is not None:
        job.register()
    known = set(seqio.TaskRegistry.names()) | set(seqio.MixtureRegistry.names())
    if job.mixture_or_task_name not in known:
        close = difflib.get_close_matches(job.mixture_or_task_name, sorted(known), n=5)
        raise ValueError(f"no seqio task or mixture named {job.mixture_or_task_name!r} is registered"
                         + (f"; close names: {close}" if close else ""))
    _prepare_output(job, overwrite)
    if runner == IN_PROCESS:
        return write_index(job, [write_shard(job, shard) for shard in range(job.num_shards)])
    try:
        import apache_beam as beam
        from apache_beam.options.pipeline_options import PipelineOptions
    except ImportError as err:
        raise RuntimeError(f"--runner {runner} needs Apache Beam ({err}): pip install 'xlit[beam]', "
                           f"or run on one machine with --runner {IN_PROCESS}") from err

    class WriteShard(beam.DoFn):
        def __init__(self, body: _WriteShard):
            super().__init__()
            self.body = body

        def setup(self):
            self.body.setup()

        def process(self, shard):
            yield from self.body.process(shard)

    options = PipelineOptions(["--runner", runner, *pipeline_args])
    with beam.Pipeline(options=options) as pipeline:
        _ = (
            pipeline
            | "Shards" >> beam.Create(list(range(job.num_shards)))
            | "Spread" >> beam.Reshuffle()
            | "WriteShard" >> beam.ParDo(WriteShard(_WriteShard(job)))
            | "Gather" >> beam.combiners.ToList()
            | "WriteIndex" >> beam.Map(lambda entries: write_index(job, entries))
        )
    return records.read_index(job.output_dir)


def default_runner() -> str:
    """DirectRunner when apache-beam is installed, else InProcess (both write the same cache)."""
    import importlib.util

    return "DirectRunner" if importlib.util.find_spec("apache_beam") is not None else IN_PROCESS


def default_num_shards() -> int:
    """One shard per CPU on this machine (at least 1)."""
    return max(1, os.cpu_count() or 1)
