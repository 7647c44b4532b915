"""`xlit cache`: write a seqio task or mixture as pre-tokenized, TensorFlow-free training data.

    xlit cache --mixture p3_train --output /data/p3_cache \
        --task_feature_lengths inputs=1024,targets=256 --split train --num_examples 100000 --pack
"""
from __future__ import annotations

import argparse
import sys
import time


def parse_lengths(text: str) -> dict[str, int]:
    """'inputs=1024,targets=256' -> {'inputs': 1024, 'targets': 256}."""
    lengths = {}
    for part in text.split(","):
        key, sep, value = part.partition("=")
        if not sep or not value.strip().isdigit():
            raise argparse.ArgumentTypeError(f"--task_feature_lengths: {part!r} is not NAME=INT")
        lengths[key.strip()] = int(value)
    return lengths


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="xlit cache", description=__doc__.split("\n")[0])
    parser.add_argument("--mixture", required=True, help="seqio task or mixture name")
    parser.add_argument("--output", required=True, help="output directory")
    parser.add_argument("--task_feature_lengths", type=parse_lengths, default={"inputs": 1024, "targets": 256})
    parser.add_argument("--split", default="train")
    parser.add_argument("--num_examples", type=int, default=None, help="rows to write (default: one pass)")
    parser.add_argument("--pack", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--shuffle", action=argparse.BooleanOptionalAction, default=False,
                        help="shuffle while reading (the reader shuffles anyway)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--import_module", action="append", default=[], help="module that registers tasks")
    parser.add_argument("--register_fn", default=None, help="dotted function that registers tasks (default: seqio_tasks)")
    parser.add_argument("--rows_per_shard", type=int, default=65536)
    parser.add_argument("--overwrite", action="store_true")
    return parser


def main(argv: list[str]) -> int:
    """Write the cache; print its size."""
    args = _parser().parse_args(argv)
    from xlit_jax.data import cached, seqio_input

    register_fn = args.register_fn or seqio_input.DEFAULT_REGISTER_FN
    start = time.time()
    try:
        dataset = seqio_input.converted_dataset(
            args.mixture, args.task_feature_lengths, split=args.split, pack=args.pack, shuffle=args.shuffle,
            seed=args.seed, num_epochs=None if args.num_examples else 1, import_modules=args.import_module,
            register_fn=register_fn,
        )
        index = cached.write_cache(
            seqio_input.converted_examples(dataset, args.pack, args.num_examples), args.output,
            args.task_feature_lengths, args.pack, rows_per_shard=args.rows_per_shard, overwrite=args.overwrite,
            metadata={"mixture": args.mixture, "split": args.split, "seed": args.seed, "shuffle": args.shuffle},
        )
    except (ValueError, FileExistsError) as err:
        print(f"xlit cache: error: {err}", file=sys.stderr)
        return 1
    print(f"xlit cache: wrote {index['num_rows']} rows ({'packed' if args.pack else 'unpacked'}) in "
          f"{len(index['shards'])} shard(s) to {args.output} in {time.time() - start:.1f}s")
    return 0
