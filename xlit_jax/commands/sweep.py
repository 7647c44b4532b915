"""`xlit sweep`: one training run per value of a gin macro (the learning rate), each scored on the
validation splits of its own training datasets; writes the table and the chosen value.

    xlit sweep --gin_file=models/mt5_small.gin --gin_file=runs/korani_recipe.gin \\
        --gin.MIXTURE_OR_TASK_NAME=korani_train --gin.VOCABULARY_PATH=spm.model \\
        --values 1e-5,3e-5,1e-4 --output runs/lr_sweep

Each value trains with the given gin files and bindings (as `xlit train` would) plus
`MACRO = value` and `MODEL_DIR = OUTPUT/{macro}_{value}`; its final parameters (MODEL_DIR/export) are
then scored zero-shot on the training mixture's validation tasks (`seqio_tasks.validation`: the
training datasets' own validation splits under the templates they train on, never a held-out task,
never a test split), written to MODEL_DIR/validation/results.json (run name `MACRO=value`). The
score of a value is the mean over datasets of each dataset's mean over templates; the chosen value
is the highest score (the first listed on a tie). OUTPUT/sweep.json and sweep.md hold the table.

A held-out evaluation configured for the trains (eval/train_inference.gin) still runs every
EVAL_PERIOD: it draws curves, the sweep never reads it. `xlit report --all_datasets
OUTPUT/*/validation` shows the validation scores per dataset, one row per value.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import math
import re
import sys
import time
from pathlib import Path
from typing import Any, Callable, Sequence

from xlit_jax import gin_utils

SWEEP_FILE = "sweep.json"
VALIDATION_SUBDIR = "validation"


@dataclasses.dataclass
class SweepRow:
    """One value of the sweep: where it trained and what its validation tasks scored."""

    value: str
    model_dir: str
    score: float | None                      # mean over datasets of the per-dataset template means
    final_step: int | None = None
    num_tasks: int = 0
    datasets: dict[str, float] = dataclasses.field(default_factory=dict)
    seconds: float = 0.0
    error: str | None = None


def run_label(macro: str, value: str) -> str:
    """The directory name of one value's run: e.g. learning_rate_1e-05."""
    return re.sub(r"[^a-z0-9_.+-]+", "_", f"{macro.lower()}_{value}").strip("_")


def choose(rows: Sequence[SweepRow]) -> SweepRow:
    """The row with the highest finite score (the first such on a tie); ValueError when none scored."""
    scored = [r for r in rows if r.score is not None and math.isfinite(r.score)]
    if not scored:
        raise ValueError("no value of the sweep has a validation score: " +
                         "; ".join(f"{r.value}: {r.error or 'no score'}" for r in rows))
    best = max(r.score for r in scored)
    return next(r for r in scored if r.score == best)


def score_of(document: dict) -> tuple[float, dict[str, float]]:
    """(overall score, per-dataset means) of a results document: mean over datasets of template means."""
    aggregates = document["aggregates"]
    datasets = {name: float(group["mean"]) for name, group in aggregates.get("dataset", {}).items()}
    return float(aggregates["all"]["all"]["mean"]), datasets


def run_sweep(macro: str, values: Sequence[str], output_dir: Path, train_and_score: Callable[[str, Path], dict],
              log: Callable[[str], None] = print) -> dict:
    """Runs `train_and_score(value, model_dir)` per value (it returns the validation results document and
    may add 'final_step'), then writes OUTPUT/sweep.json and sweep.md; returns the sweep document."""
    output_dir.mkdir(parents=True, exist_ok=True)
    rows: list[SweepRow] = []
    tasks: list[str] = []
    for value in values:
        model_dir = output_dir / run_label(macro, value)
        tick = time.perf_counter()
        try:
            document = train_and_score(value, model_dir)
        except FloatingPointError as error:   # a value whose loss diverged: recorded, the sweep goes on
            rows.append(SweepRow(value, str(model_dir), None, seconds=time.perf_counter() - tick,
                                 error=" ".join(str(error).split())[:300]))
            log(f"{macro}={value}: failed: {rows[-1].error}")
            continue
        score, datasets = score_of(document)
        tasks = tasks or sorted(document["tasks"])
        rows.append(SweepRow(value, str(model_dir), score, document.get("run", {}).get("step"), len(document["tasks"]),
                             datasets, time.perf_counter() - tick))
        log(f"{macro}={value}: validation score {score:.2f} over {len(document['tasks'])} tasks "
            f"({len(datasets)} datasets), {rows[-1].seconds:.0f} s")
    chosen = choose(rows)
    sweep = {"macro": macro, "values": list(values), "chosen": chosen.value, "chosen_score": chosen.score,
             "selection": "highest mean over the training datasets' validation splits of each dataset's mean over "
                          "templates; held-out tasks are not evaluated",
             "validation_tasks": tasks, "rows": [dataclasses.asdict(r) for r in rows]}
    (output_dir / SWEEP_FILE).write_text(json.dumps(sweep, indent=1), encoding="utf-8")
    (output_dir / "sweep.md").write_text(render_markdown(sweep), encoding="utf-8")
    return sweep


def render_markdown(sweep: dict) -> str:
    """The sweep table: value, validation score, step, tasks, time; the chosen value marked."""
    lines = [f"| {sweep['macro']} | validation score | step | tasks | seconds |", "|---|---|---|---|---|"]
    for row in sweep["rows"]:
        mark = " (chosen)" if row["value"] == sweep["chosen"] else ""
        score = f"{row['score']:.2f}" if row["score"] is not None else f"failed: {row['error']}"
        lines.append(f"| {row['value']}{mark} | {score} | {row['final_step']} | {row['num_tasks']} | "
                     f"{row['seconds']:.0f} |")
    lines.append("")
    lines.append(f"chosen: {sweep['macro']} = {sweep['chosen']} ({sweep['selection']})")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------- the gin runs


class GinTrainer:
    """`train_and_score` for run_sweep: trains under the gin files/bindings plus MACRO and MODEL_DIR, then
    scores MODEL_DIR/export on the training mixture's validation tasks (read once, for the first value)."""

    def __init__(self, macro: str, gin_files: Sequence[str], gin_bindings: Sequence[str],
                 gin_search_paths: Sequence[str] = (), max_examples: int | None = 64, max_templates: int | None = 2,
                 eval_batch_size: int = 32, log: Callable[[str], None] = print):
        self.macro, self.gin_files, self.gin_bindings = macro, list(gin_files), list(gin_bindings)
        self.gin_search_paths = list(gin_search_paths)
        self.max_examples, self.max_templates, self.eval_batch_size = max_examples, max_templates, eval_batch_size
        self.log = log
        self.vocabulary: str | None = None
        self.tasks: list | None = None
        self.task_names: list[str] = []

    def _parse(self, value: str, model_dir: Path) -> None:
        import gin

        from xlit_jax.commands import wiring

        gin.clear_config()
        # the same quoting as `--gin.MACRO=value` on the command line
        bindings = self.gin_bindings + gin_utils.parse_flags([f"--gin.{self.macro}={value}",
                                                              f"--gin.MODEL_DIR={model_dir}"]).gin_bindings
        gin_utils.parse_gin(self.gin_files, bindings, self.gin_search_paths, finalize=False)
        # registered again for every value, as `xlit train` does: registration reads gin too (mixture rates)
        setup = wiring.prepare_training()
        self.vocabulary = setup.vocabulary_path or wiring.resolve_vocabulary()
        gin_utils.finalize_gin()

    def __call__(self, value: str, model_dir: Path) -> dict:
        import gin

        from seqio_tasks import validation
        from xlit_jax import evaluator, train_loop
        from xlit_jax.models.mt5 import MT5Config

        self._parse(value, model_dir)
        try:
            mixture = str(gin.query_parameter("%MIXTURE_OR_TASK_NAME"))
            lengths = dict(gin.query_parameter("%TASK_FEATURE_LENGTHS"))
            model_config = MT5Config()
            if self.tasks is None:
                self.tasks = validation.registry_validation_tasks(mixture, max_examples=self.max_examples,
                                                                  max_templates=self.max_templates)
                self.task_names = [t.name for t in self.tasks]
                self.log(f"validation tasks of {mixture}: {len(self.tasks)} "
                         f"({', '.join(self.task_names[:6])}{', ...' if len(self.tasks) > 6 else ''})")
            self.log(f"{self.macro}={value}: training in {model_dir}")
            summary = train_loop.train()
            return evaluator.evaluate(tasks=self.tasks, checkpoint_path=str(model_dir / train_loop.EXPORT_SUBDIR),
                                      model_config=model_config, vocabulary_path=self.vocabulary,
                                      task_feature_lengths=lengths, batch_size=self.eval_batch_size, progress=False,
                                      output_dir=str(model_dir / VALIDATION_SUBDIR), step=int(summary["final_step"]),
                                      run_name=f"{self.macro}={value}")
        finally:
            gin.clear_config()


# --------------------------------------------------------------------------- CLI


def _parser() -> argparse.ArgumentParser:
    doc = __doc__ or ""
    parser = argparse.ArgumentParser(prog="xlit sweep", description=doc.split("\n\n", 1)[1] if "\n\n" in doc else doc,
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="gin flags as for xlit train: --gin_file F (repeatable), --gin.KEY=VALUE, "
                                            "--gin_bindings, --gin_search_paths")
    parser.add_argument("--values", required=True, help="comma-separated gin values of the macro, e.g. 1e-5,1e-4")
    parser.add_argument("--macro", default="LEARNING_RATE", help="the gin macro swept (default LEARNING_RATE)")
    parser.add_argument("--output", required=True, help="directory for one MODEL_DIR per value and sweep.json/.md")
    parser.add_argument("--max_examples", type=int, default=64, help="validation rows per task (default 64)")
    parser.add_argument("--max_templates", type=int, default=2,
                        help="validation templates per training dataset (default 2; 0 = all)")
    parser.add_argument("--eval_batch_size", type=int, default=32)
    return parser


def main(argv: list[str]) -> int:
    """Entry point of `xlit sweep`."""
    from xlit_jax.commands import wiring

    try:
        flags = gin_utils.parse_flags(argv)
    except gin_utils.GinConfigError as error:
        return wiring.fail("sweep", error, 2)
    args = _parser().parse_args(flags.rest)
    values = [v.strip() for v in args.values.split(",") if v.strip()]
    if not values or len(set(values)) != len(values):
        return wiring.fail("sweep", f"--values must list distinct values, got {args.values!r}", 2)
    if not flags.gin_files:
        return wiring.fail("sweep", "give the training config with --gin_file (e.g. --gin_file=runs/korani_recipe.gin)", 2)
    if not re.fullmatch(r"[A-Z][A-Z0-9_]*", args.macro):
        return wiring.fail("sweep", f"--macro must name a gin macro (NAME in capitals), got {args.macro!r}", 2)
    wiring.import_configurables()
    log = lambda message: print(f"xlit sweep: {message}", flush=True)  # noqa: E731
    trainer = GinTrainer(args.macro, flags.gin_files, flags.gin_bindings, flags.gin_search_paths,
                         max_examples=args.max_examples, max_templates=args.max_templates or None,
                         eval_batch_size=args.eval_batch_size, log=log)
    try:
        sweep = run_sweep(args.macro, values, Path(args.output).absolute(), trainer, log)
    except (gin_utils.GinConfigError, wiring.SetupError) as error:
        return wiring.fail("sweep", error, 2)
    except (ValueError, KeyError, FileNotFoundError, OSError, TypeError) as error:
        return wiring.fail("sweep", error, 1)
    print()
    print(render_markdown(sweep), end="")
    log(f"wrote {Path(args.output) / SWEEP_FILE} and sweep.md")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
