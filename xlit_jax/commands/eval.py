"""`xlit eval`: zero-shot evaluation from gin configs with t5x-style flags.

    xlit eval --gin_file=eval/zero_shot.gin --gin.CHECKPOINT_PATH=/ckpt \
        --gin.EVAL_OUTPUT_DIR=/tmp/eval --gin.MIXTURE_OR_TASK_NAME=korani_heldout.ko.all

Flags: --gin_file (repeatable), --gin.KEY=VALUE and --gin_bindings='KEY = VALUE' (applied in
order after the files), --gin_search_paths=a,b; --no_progress hides the progress bar.
Writes EVAL_OUTPUT_DIR/results.json, predictions/{task}.jsonl and config.gin; prints a table.
"""
from __future__ import annotations

import sys

from xlit_jax import gin_utils


def main(argv: list[str]) -> int:
    """Parse gin flags, run xlit.evaluate(), print the per-task and aggregate table."""
    try:
        flags = gin_utils.parse_flags(argv)
    except gin_utils.GinConfigError as err:
        print(f"xlit eval: {err}", file=sys.stderr)
        return 2
    rest = [a for a in flags.rest if a != "--no_progress"]
    if rest:
        print(f"xlit eval: unknown flags {rest} (use --gin_file and --gin.KEY=VALUE)", file=sys.stderr)
        return 2
    if not flags.gin_files:
        print("xlit eval: give --gin_file (e.g. --gin_file=eval/zero_shot.gin)", file=sys.stderr)
        return 2
    import importlib

    from xlit_jax import evaluator, reports

    # Modules whose gin configurables eval configs may bind (imported before gin locks its config).
    for module in ("seqio_tasks.paths", "xlit_jax.models.mt5", "xlit_jax.checkpoints", "xlit_jax.scoring",
                   "xlit_jax.decoding", "seqio_tasks.vocab", "seqio_tasks.eval_data"):
        try:
            importlib.import_module(module)
        except ImportError:
            pass  # reported with a clear message where it is needed

    try:
        gin_utils.parse_gin(flags.gin_files, flags.gin_bindings, flags.gin_search_paths)
    except gin_utils.GinConfigError as err:
        print(f"xlit eval: {err}", file=sys.stderr)
        return 2
    try:
        document = evaluator.evaluate(progress="--no_progress" not in flags.rest)
    except (KeyError, ValueError, FileNotFoundError, TypeError, ImportError, RuntimeError) as err:
        print(f"xlit eval: error: {type(err).__name__}: {err}", file=sys.stderr)
        return 1
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
