"""`xlit eval`: zero-shot evaluation from gin configs with t5x-style flags.

    xlit eval --gin_file=eval/zero_shot.gin --gin.CHECKPOINT_PATH=runs/korani \\
        --gin.EVAL_OUTPUT_DIR=runs/korani_eval --gin.MIXTURE_OR_TASK_NAME=korani_heldout.ko.all

CHECKPOINT_PATH: what `xlit train` wrote (a MODEL_DIR, whose latest checkpoint is used, or
MODEL_DIR/checkpoints/N, or MODEL_DIR/export), an xlit, Hugging Face or t5x checkpoint. With a model
gin file (--gin_file=models/mt5_xl.gin) the checkpoint must match it: differing fields are named.
The vocabulary: VOCABULARY_PATH, else the checkpoint's spiece.model, else $XLIT_VOCAB; its pieces must
fit the model. Flags: --gin_file (repeatable), --gin.KEY=VALUE and --gin_bindings='KEY = VALUE' (applied
in order after the files), --gin_search_paths=a,b; --no_progress hides the progress bar; --verbose.
Writes EVAL_OUTPUT_DIR/results.json, predictions/{task}.jsonl and config.gin; prints a table.
"""
from __future__ import annotations

import argparse

from xlit_jax import gin_utils
from xlit_jax.commands import wiring

DEFAULT_GIN_FILES = ("eval/zero_shot.gin",)


def _parser() -> argparse.ArgumentParser:
    doc = __doc__ or ""
    try:
        macros = gin_utils.macro_help(DEFAULT_GIN_FILES)
    except gin_utils.GinConfigError as error:
        macros = f"  ({error})"
    parser = argparse.ArgumentParser(
        prog="xlit eval", description=doc.split("\n\n", 1)[1], formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="gin macros of eval/zero_shot.gin (set with --gin.NAME=VALUE):\n" + macros)
    parser.add_argument("--no_progress", action="store_true", help="no progress bar")
    return parser


def main(argv: list[str]) -> int:
    """Parse gin flags, run xlit.evaluate(), print the per-task and aggregate table."""
    try:
        flags = gin_utils.parse_flags(argv)
    except gin_utils.GinConfigError as err:
        return wiring.fail("eval", err, 2)
    args = _parser().parse_args(flags.rest)
    if not flags.gin_files:
        return wiring.fail("eval", "give --gin_file (e.g. --gin_file=eval/zero_shot.gin); see xlit eval --help", 2)
    wiring.import_configurables()
    from xlit_jax import evaluator, reports

    try:
        gin_utils.parse_gin(flags.gin_files, flags.gin_bindings, flags.gin_search_paths, finalize=False)
        model_config = wiring.model_config()
        wiring.prepare_evaluation()
        gin_utils.finalize_gin()
    except (gin_utils.GinConfigError, wiring.SetupError) as err:
        return wiring.fail("eval", err, 2)
    try:
        document = evaluator.evaluate(progress=not args.no_progress,
                                      **({"model_config": model_config} if model_config is not None else {}))
    except (KeyError, ValueError, FileNotFoundError, TypeError, ImportError, RuntimeError, OSError) as err:
        return wiring.fail("eval", err, 1)
    output_dir = document["run"].get("output_dir")
    if output_dir:
        gin_utils.write_operative_config(output_dir)
    for name, record in document["tasks"].items():
        print(f"{name:<60} {record['primary_metric']:>12} {record['score']:7.2f}  (n={record['num_examples']})")
    name = document["run"].get("name") or "run"
    print()
    print(reports.render_markdown(reports.build_table([(name, document)], heldout_only=False)), end="")
    if output_dir:
        print(f"\nwrote {output_dir}/results.json and predictions/")
    return 0
