#!/usr/bin/env python3
"""Run `xlit train` on one multi-GPU node: one process drives all local GPUs (jit shards the
batch over them). `--dry_run` prints the exact command.

Example:
  python launch/gpu_node.py --model_dir /scratch/xlit/run1 --gin_file gin/models/mt5_base.gin \
      --gin_file gin/experiments/bilingual_tuned.gin --gin "xlit.Partitioner.num_partitions=1" --dry_run
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import add_train_flags, check_gin_files, execute, shell_line, train_words  # noqa: E402

# XLA settings that help encoder-decoder training on NVIDIA GPUs.
GPU_XLA_FLAGS = "--xla_gpu_enable_latency_hiding_scheduler=true --xla_gpu_enable_triton_gemm=false"


def build_commands(args: argparse.Namespace) -> list[list[str]]:
    """The shell command for one node."""
    env = {"XLA_FLAGS": GPU_XLA_FLAGS, "XLA_PYTHON_CLIENT_MEM_FRACTION": str(args.mem_fraction)}
    if args.gpus:
        env["CUDA_VISIBLE_DEVICES"] = args.gpus
    if args.data_dir:
        env["XLIT_DATA_DIR"] = args.data_dir
    return [["env", *(f"{k}={v}" for k, v in env.items()), *train_words(args)]]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gpus", default=None, help="CUDA_VISIBLE_DEVICES, e.g. 0,1,2,3 (default: all)")
    parser.add_argument("--mem_fraction", type=float, default=0.9)
    parser.add_argument("--data_dir", default=os.environ.get("XLIT_DATA_DIR"))
    add_train_flags(parser)
    args = parser.parse_args(argv)
    check_gin_files(parser, args)
    return execute(build_commands(args), args.dry_run)


if __name__ == "__main__":
    sys.exit(main())
