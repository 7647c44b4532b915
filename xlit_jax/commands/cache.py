"""`xlit cache`: write a seqio task or mixture as packed, TensorFlow-free ArrayRecord training data.

    xlit cache --mixture korani_train --output /data/korani_1024 \
        --task_feature_lengths inputs=1024,targets=256 --num_shards 64

On a cluster the same Apache Beam pipeline runs with a runner and its options, passed through:

    xlit cache --mixture p3_t0_train --output /mnt/shared/p3 --num_shards 1024 \
        --runner DataflowRunner --project P --region R --temp_location gs://B/tmp

`--runner InProcess` (the default when apache-beam is not installed) writes the same shards in
this process without Beam. Train from the output with
gin/runs/finetune_cached.gin (`xlit.RecordData`).
"""
from __future__ import annotations

import argparse
import functools
import sys
import time


def parse_lengths(text: str) -> dict[str, int]:
    """'inputs=1024,targets=256' -> {'inputs': 1024, 'targets': 256}; every length must be > 0."""
    lengths = {}
    for part in text.split(","):
        key, sep, value = part.partition("=")
        if not sep or not value.strip().isdigit() or int(value) <= 0:
            raise argparse.ArgumentTypeError(f"--task_feature_lengths: {part!r} is not NAME=POSITIVE_INT")
        lengths[key.strip()] = int(value)
    return lengths


def register_tasks(vocabulary_path: str) -> None:
    """Register the built-in tasks and mixtures for `vocabulary_path` (runs again in every Beam worker)."""
    from seqio_tasks import paths, registration

    registration.register_builtin(vocabulary_path, data_dir=paths.data_dir(), korani_dir=paths.korani_dir())


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="xlit cache", description=__doc__.split("\n")[0], allow_abbrev=False,
                                     epilog="Unknown flags are passed to the Beam runner as pipeline options.")
    parser.add_argument("--mixture", required=True, help="seqio task or mixture name")
    parser.add_argument("--output", required=True, help="output directory (shared storage on a cluster)")
    parser.add_argument("--vocabulary", default=None, help="sentencepiece model (default: xlit.vocabulary_path())")
    parser.add_argument("--task_feature_lengths", type=parse_lengths, default={"inputs": 1024, "targets": 256})
    parser.add_argument("--split", default="train")
    parser.add_argument("--pack", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--num_shards", type=int, default=None, help="output shards = parallel work units "
                        "(default: this machine's CPU count)")
    parser.add_argument("--num_examples", type=int, default=None, help="rows to write in all (default: one pass)")
    parser.add_argument("--shuffle", action=argparse.BooleanOptionalAction, default=False,
                        help="shuffle while reading (the reader shuffles globally anyway)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--count_examples", action=argparse.BooleanOptionalAction, default=True,
                        help="record per-task example counts of the split in the index (the sources' own counts)")
    parser.add_argument("--runner", default=None,
                        help="DirectRunner, DataflowRunner, FlinkRunner, SparkRunner, ... or InProcess (no Beam); "
                        "default: DirectRunner when apache-beam is installed, else InProcess (same output)")
    parser.add_argument("--overwrite", action="store_true")
    return parser


def main(argv: list[str]) -> int:
    """Run the cache job; print what it wrote."""
    args, pipeline_args = _parser().parse_known_args(argv)
    from xlit_jax.commands import wiring

    wiring.import_tensorflow_quietly()
    from seqio_tasks import cache_job, vocab

    vocabulary_path = vocab.vocabulary_path(args.vocabulary)
    runner = args.runner or cache_job.default_runner()
    if runner == cache_job.IN_PROCESS and pipeline_args:
        print(f"xlit cache: error: unknown arguments {pipeline_args} (only a Beam runner takes pipeline options)",
              file=sys.stderr)
        return 2
    start = time.time()
    try:
        job = cache_job.CacheJob(
            mixture_or_task_name=args.mixture, output_dir=args.output, vocabulary_path=vocabulary_path,
            task_feature_lengths=args.task_feature_lengths, split=args.split, pack=args.pack,
            num_shards=args.num_shards or cache_job.default_num_shards(), num_examples=args.num_examples,
            shuffle=args.shuffle, seed=args.seed, count_examples=args.count_examples,
            register=functools.partial(register_tasks, vocabulary_path),
        )
        index = cache_job.run(job, runner=runner, pipeline_args=pipeline_args, overwrite=args.overwrite)
    except (ValueError, FileExistsError, RuntimeError) as err:
        print(f"xlit cache: error: {err}", file=sys.stderr)
        return 1
    print(f"xlit cache: wrote {index['num_rows']} rows ({'packed' if args.pack else 'unpacked'}) in "
          f"{len(index['shards'])} shard(s) to {args.output} in {time.time() - start:.1f}s "
          f"(fingerprint {index['fingerprint'][:12]})")
    return 0
