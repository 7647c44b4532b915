"""`xlit train`: instruction-tune from gin configs with t5x-style flags.

    xlit vocab --output spm.model --vocab_size 4096
    xlit train --gin_file=models/mt5_small.gin --gin_file=runs/finetune.gin \\
        --gin.MODEL_DIR="'runs/korani'" --gin.MIXTURE_OR_TASK_NAME=korani_train --gin.TRAIN_STEPS=1000 \\
        --gin.VOCABULARY_PATH=spm.model

Training needs the vocabulary the data is tokenized with: --gin.VOCABULARY_PATH (or $XLIT_VOCAB). mT5's
own lives on GCS (gs://t5-data/vocabs/mc4.250000.100extra/sentencepiece.model); copy it to a local file
on a machine without network access, or make a small one with `xlit vocab`. Its pieces must fit the
model's vocab_size (checked before the model is built).

Flags: --gin_file (repeatable), --gin.KEY=VALUE and --gin_bindings='KEY = VALUE' (repeatable,
applied in order after the files), --gin_search_paths=a,b; multi-host: --coordinator_address,
--num_processes, --process_id (or $XLIT_COORDINATOR_ADDRESS etc.; TPU pods need none); --verbose.
The run writes MODEL_DIR/config.gin, config.json, spiece.model, checkpoints/N/ and, when it completes,
MODEL_DIR/export/ (what `xlit eval --gin.CHECKPOINT_PATH=MODEL_DIR` reads).
"""
from __future__ import annotations

import argparse
import sys

from xlit_jax import gin_utils
from xlit_jax.commands import wiring

DEFAULT_GIN_FILES = ("runs/finetune.gin",)


def _parser() -> argparse.ArgumentParser:
    doc = __doc__ or ""
    parser = argparse.ArgumentParser(
        prog="xlit train", description=doc.split("\n\n", 1)[1] if "\n\n" in doc else doc,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="gin macros of runs/finetune.gin (set with --gin.NAME=VALUE):\n" + _macros())
    parser.add_argument("--coordinator_address", default=None, help="host:port of process 0 (multi-host)")
    parser.add_argument("--num_processes", type=int, default=None)
    parser.add_argument("--process_id", type=int, default=None)
    return parser


def _macros() -> str:
    try:
        return gin_utils.macro_help(DEFAULT_GIN_FILES)
    except gin_utils.GinConfigError as error:
        return f"  ({error})"


def main(argv: list[str]) -> int:
    """Parse flags, join the cluster, apply gin, check and register, run xlit.train(); 0 on success or SIGTERM stop."""
    try:
        flags = gin_utils.parse_flags(argv)
    except gin_utils.GinConfigError as err:
        return wiring.fail("train", err, 2)
    args = _parser().parse_args(flags.rest)
    if not flags.gin_files and not flags.gin_bindings:
        return wiring.fail("train", "give at least one --gin_file (e.g. --gin_file=runs/finetune.gin); "
                                    "see xlit train --help", 2)
    from xlit_jax import multihost

    multihost.initialize(args.coordinator_address, args.num_processes, args.process_id)
    wiring.import_configurables()
    from xlit_jax import train_loop

    try:
        gin_utils.parse_gin(flags.gin_files, flags.gin_bindings, flags.gin_search_paths, finalize=False)
        setup = wiring.prepare_training()
        gin_utils.finalize_gin()
    except gin_utils.GinConfigError as err:
        return wiring.fail("train", err, 2)
    except wiring.SetupError as err:
        return wiring.fail("train", err, 2)
    if multihost.is_primary() and setup.vocabulary_path:
        print(f"xlit train: vocabulary {setup.vocabulary_path} ({setup.vocabulary_size} pieces)"
              + (f"; {setup.tasks} tasks and {setup.mixtures} mixtures registered" if setup.tasks else ""),
              flush=True)
    try:
        summary = train_loop.train()
    except (TypeError, ValueError, FloatingPointError, RuntimeError, OSError, KeyError) as err:
        return wiring.fail("train", err, 1)
    if multihost.is_primary():
        print(f"xlit train: {summary['status']} at step {summary['final_step']} ({summary['model_dir']})", flush=True)
    return 0
