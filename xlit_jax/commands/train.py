"""`xlit train`: instruction-tune from gin configs with t5x-style flags.

    xlit train --gin_file=models/mt5_small.gin --gin_file=runs/finetune.gin \
        --gin.MODEL_DIR=/tmp/run --gin.MIXTURE_OR_TASK_NAME="'p3_train'" --gin.TRAIN_STEPS=1000

Flags: --gin_file (repeatable), --gin.KEY=VALUE and --gin_bindings='KEY = VALUE' (repeatable,
applied in order after the files), --gin_search_paths=a,b; multi-host: --coordinator_address,
--num_processes, --process_id (or $XLIT_COORDINATOR_ADDRESS etc.; TPU pods need none).
"""
from __future__ import annotations

import argparse
import sys

from xlit_jax import gin_utils, multihost

# Modules whose gin configurables train configs name; imported before parsing so gin finds them.
CONFIGURABLE_MODULES = (
    "xlit_jax.models.mt5",
    "xlit_jax.partitioning",
    "xlit_jax.optimizers",
    "xlit_jax.trainer",
    "xlit_jax.data.cached",
    "xlit_jax.data.seqio_input",
    "xlit_jax.train_loop",
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="xlit train", description=__doc__.split("\n")[0],
                                     epilog="gin flags: --gin_file F, --gin.KEY=VALUE, --gin_bindings B, --gin_search_paths a,b")
    parser.add_argument("--coordinator_address", default=None, help="host:port of process 0 (multi-host)")
    parser.add_argument("--num_processes", type=int, default=None)
    parser.add_argument("--process_id", type=int, default=None)
    return parser


def main(argv: list[str]) -> int:
    """Parse flags, join the cluster, apply gin, run xlit.train(); 0 on success or SIGTERM stop."""
    try:
        flags = gin_utils.parse_flags(argv)
    except gin_utils.GinConfigError as err:
        print(f"xlit train: {err}", file=sys.stderr)
        return 2
    args = _parser().parse_args(flags.rest)
    if not flags.gin_files and not flags.gin_bindings:
        print("xlit train: give at least one --gin_file (e.g. --gin_file=runs/finetune.gin)", file=sys.stderr)
        return 2
    multihost.initialize(args.coordinator_address, args.num_processes, args.process_id)

    import importlib

    for module in CONFIGURABLE_MODULES:
        importlib.import_module(module)
    from xlit_jax import train_loop

    try:
        gin_utils.parse_gin(flags.gin_files, flags.gin_bindings, flags.gin_search_paths)
    except gin_utils.GinConfigError as err:
        print(f"xlit train: {err}", file=sys.stderr)
        return 2
    try:
        summary = train_loop.train()
    except (TypeError, ValueError, FloatingPointError, RuntimeError, OSError) as err:
        print(f"xlit train: error: {type(err).__name__}: {err}", file=sys.stderr)
        return 1
    if multihost.is_primary():
        print(f"xlit train: {summary['status']} at step {summary['final_step']} ({summary['model_dir']})", flush=True)
    return 0
